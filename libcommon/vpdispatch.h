/*
 * vpdispatch: the vp-dispatch program as a function.
 *
 * vpdispatch_main() is the whole of vp-dispatch(1): option parsing, one
 * proxy request from fd 0/1, routing and the hand-off. It keeps
 * process-wide state and usually does not return (it exits or execs),
 * so call it once per process: from vp-dispatch's main(), or in a child
 * that vp-listen forked for a connection (no exec, so no ELF loading
 * and shared pages: cheaper connections).
 */
#ifndef VPDISPATCH_H
#define VPDISPATCH_H

int	vpdispatch_main(int argc, char *argv[]);

#endif
