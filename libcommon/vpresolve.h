/*
 * vpresolve: name resolution off the event loop. A small pool of
 * threads runs getaddrinfo(3) for queued requests; results come back
 * through a descriptor the loop polls (readable when at least one
 * result is ready).
 *
 * Requests are tagged with a caller's 64-bit value; a result whose
 * connection has gone meanwhile is simply freed by the caller. The
 * queue is bounded (submit fails with EAGAIN when full). Only the
 * thread that created the pool may call these functions. A process
 * forked from the pool's owner must not use the pool (its threads do
 * not exist there); it may call vpresolve_forget() to drop its copy.
 *
 * Nothing here exits or logs.
 */
#ifndef VPRESOLVE_H
#define VPRESOLVE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>

struct vpresolve;

/*
 * vpresolve_new(): a pool of nthreads (1..64) threads and at most qmax
 * (>= 1) requests outstanding (waiting, running, or finished and not
 * yet taken: memory stays bounded even if results are not collected).
 * The threads block every signal. Returns NULL with errno set on
 * failure (EINVAL for nthreads or qmax out of range).
 */
struct vpresolve *vpresolve_new(int nthreads, size_t qmax);

/* vpresolve_fd(): the descriptor to poll for POLLIN (non-blocking). */
int	vpresolve_fd(const struct vpresolve *r);

/*
 * vpresolve_submit(): queues getaddrinfo(host, port) for TCP with the
 * hints vpnet_dial_tcp() uses (no AI_ADDRCONFIG), family AF_UNSPEC,
 * AF_INET or AF_INET6. A literal address is not looked up: it is tried
 * first with AI_NUMERICHOST and its result, or the failure of a literal
 * of the other family, is ready at once, without a thread. Returns 0, or -1
 * with errno EAGAIN (qmax outstanding), ENAMETOOLONG (host over 255
 * bytes), EINVAL (host NULL, port over 65535, other family) or ENOMEM.
 */
int	vpresolve_submit(struct vpresolve *r, uint64_t tag, const char *host,
	    unsigned port, int family);

/*
 * vpresolve_take(): one finished request, if any: returns 1 with *tag,
 * *res (to free with freeaddrinfo; NULL on failure) and *gai (0, or the
 * EAI_ code; EAI_SYSTEM leaves errno's value in *sys_errno), 0 when none
 * is ready (clears the descriptor's readiness once all are taken).
 */
int	vpresolve_take(struct vpresolve *r, uint64_t *tag,
	    struct addrinfo **res, int *gai, int *sys_errno);

/*
 * vpresolve_free(): stops the threads (waiting for running lookups to
 * end), frees queued and finished requests, closes the descriptor.
 */
void	vpresolve_free(struct vpresolve *r);

/*
 * vpresolve_forget(): in a child forked from the pool's owner: closes
 * the descriptor; the memory is left alone (the threads are gone).
 */
void	vpresolve_forget(struct vpresolve *r);

/*
 * One lookup on a thread of its own, for a program that needs a single
 * name now and then (vp-tunnel's client redialling its peer) and must
 * neither block nor wait for a slow name service when it gives up:
 * vplookup_free() abandons a lookup still running without waiting for
 * it (its thread frees what is left when getaddrinfo returns).
 */
struct vplookup;

/*
 * vplookup_start(): getaddrinfo(host, port) for TCP, as
 * vpresolve_submit() with AF_UNSPEC (a literal answered at once,
 * without a thread). The thread blocks every signal. Returns NULL with
 * errno (ENAMETOOLONG, EINVAL, ENOMEM, EAGAIN: no thread) on failure.
 */
struct vplookup *vplookup_start(const char *host, unsigned port);

/* vplookup_fd(): readable (POLLIN) once the result is ready. */
int	vplookup_fd(const struct vplookup *l);

/*
 * vplookup_take(): 1 once finished, with *res (the caller's, to free
 * with freeaddrinfo; NULL on failure), *gai and *sys_errno as
 * vpresolve_take(); 0 while running. Only once: later calls say 0.
 */
int	vplookup_take(struct vplookup *l, struct addrinfo **res, int *gai,
	    int *sys_errno);

/* vplookup_free(): frees l or abandons it to its thread; never blocks. */
void	vplookup_free(struct vplookup *l);

#endif
