/*
 * vp-dial: connect to a destination and relay stdin/stdout to it.
 * The program lives in libcommon/vpdial_main.c so that vp-listen can
 * run it in a forked child without an exec.
 */
#include "vpdial.h"

int
main(int argc, char *argv[])
{
	return vpdial_main(argc, argv);
}
