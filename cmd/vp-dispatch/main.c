/*
 * vp-dispatch: read one proxy request on fd 0/1, route it, hand it off.
 * The program lives in libcommon/vpdispatch.c so that vp-listen can run
 * it in a forked child without an exec.
 */
#include "vpdispatch.h"

int
main(int argc, char *argv[])
{
	return vpdispatch_main(argc, argv);
}
