/*
 * vpresolve: getaddrinfo(3) on a small pool of threads, results handed
 * back to the owner through an eventfd.
 *
 * One mutex guards two FIFOs: requests waiting for a thread, and
 * finished requests waiting for vpresolve_take(). The eventfd's counter
 * is non-zero exactly when the finished list is not empty (both change
 * under the mutex), so the owner's poll() sees POLLIN while results
 * wait and take() only reads the eventfd when it empties the list.
 * Workers sleep on a condition variable; nothing busy-waits.
 */
#include <sys/eventfd.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpresolve.h"

#define VPRES_HOSTMAX	255
#define VPRES_THRMAX	64

struct vpres_req {
	struct vpres_req	*next;
	uint64_t		 tag;
	struct addrinfo		*res;
	int			 family;
	int			 gai;
	int			 sys_errno;
	unsigned		 port;
	char			 host[VPRES_HOSTMAX + 1];
};

struct vpres_list {
	struct vpres_req	*head;
	struct vpres_req	**tail;
};

struct vpresolve {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct vpres_list	 wait;		/* queued for a thread */
	struct vpres_list	 done;		/* finished, not yet taken */
	size_t			 outstanding;	/* submitted, not yet taken */
	size_t			 qmax;
	int			 stop;
	int			 efd;
	int			 nthreads;	/* threads started */
	pthread_t		 th[VPRES_THRMAX];
};

static void
vpres_list_init(struct vpres_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void
vpres_list_push(struct vpres_list *l, struct vpres_req *q)
{
	q->next = NULL;
	*l->tail = q;
	l->tail = &q->next;
}

/*
 * vpres_list_pop(): the first request of l, unlinked, or NULL.
 */
static struct vpres_req *
vpres_list_pop(struct vpres_list *l)
{
	struct vpres_req *q = l->head;

	if (q == NULL)
		return NULL;
	l->head = q->next;
	if (l->head == NULL)
		l->tail = &l->head;
	q->next = NULL;
	return q;
}

static void
vpres_list_free(struct vpres_list *l)
{
	struct vpres_req *q;

	while ((q = vpres_list_pop(l)) != NULL) {
		if (q->res != NULL)
			freeaddrinfo(q->res);
		free(q);
	}
}

/*
 * vpres_finish(): with the mutex held, moves q to the finished list and
 * makes the eventfd readable if the list was empty.
 */
static void
vpres_finish(struct vpresolve *r, struct vpres_req *q)
{
	uint64_t one = 1;
	ssize_t n;

	if (r->done.head == NULL && r->efd != -1) {
		/* Cannot fail: the counter never goes past 1. */
		n = write(r->efd, &one, sizeof(one));
		(void)n;
	}
	vpres_list_push(&r->done, q);
}

/*
 * vpres_hints(): fills hints for q; flags are added by the caller.
 */
static void
vpres_hints(const struct vpres_req *q, struct addrinfo *hints, int flags)
{
	memset(hints, 0, sizeof(*hints));
	hints->ai_family = q->family;
	hints->ai_socktype = SOCK_STREAM;
	hints->ai_protocol = IPPROTO_TCP;
	hints->ai_flags = AI_NUMERICSERV | flags;
}

/*
 * vpres_lookup(): runs getaddrinfo for q, storing res, gai, sys_errno.
 * numeric limits it to a literal address (no name service consulted).
 */
static void
vpres_lookup(struct vpres_req *q, int numeric)
{
	struct addrinfo hints;
	char serv[8];

	/* as vpnet_dial_tcp(): no AI_ADDRCONFIG (a ::1 name on a host
	 * without global IPv6 still resolves to ::1) */
	vpres_hints(q, &hints, numeric ? AI_NUMERICHOST : 0);
	(void)snprintf(serv, sizeof(serv), "%u", q->port);
	q->res = NULL;
	errno = 0;
	q->gai = getaddrinfo(q->host, serv, &hints, &q->res);
	q->sys_errno = q->gai == EAI_SYSTEM ? errno : 0;
	if (q->gai != 0)
		q->res = NULL;
}

/*
 * vpres_literal(): 1 if host is an address literal in any family
 * (answered without a thread), else 0.
 */
static int
vpres_literal(struct vpres_req *q)
{
	struct addrinfo hints, *res = NULL;

	vpres_lookup(q, 1);
	if (q->gai == 0)
		return 1;
	if (q->family == AF_UNSPEC)
		return 0;
	/* A literal of the other family: fail it here, not in DNS. */
	vpres_hints(q, &hints, AI_NUMERICHOST);
	hints.ai_family = AF_UNSPEC;
	if (getaddrinfo(q->host, NULL, &hints, &res) != 0)
		return 0;
	freeaddrinfo(res);
	return 1;
}

static void *
vpres_worker(void *arg)
{
	struct vpresolve *r = arg;
	struct vpres_req *q;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && r->wait.head == NULL)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop)
			break;
		q = vpres_list_pop(&r->wait);
		pthread_mutex_unlock(&r->mu);
		vpres_lookup(q, 0);
		pthread_mutex_lock(&r->mu);
		vpres_finish(r, q);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/*
 * vpres_stop(): with no lock held, stops and joins the started threads.
 */
static void
vpres_stop(struct vpresolve *r)
{
	int i;

	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	for (i = 0; i < r->nthreads; i++)
		pthread_join(r->th[i], NULL);
	r->nthreads = 0;
}

/*
 * vpres_destroy(): frees everything of a pool whose threads are gone.
 */
static void
vpres_destroy(struct vpresolve *r)
{
	vpres_list_free(&r->wait);
	vpres_list_free(&r->done);
	if (r->efd != -1)
		close(r->efd);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

struct vpresolve *
vpresolve_new(int nthreads, size_t qmax)
{
	struct vpresolve *r;
	sigset_t all, old;
	int e, i;

	if (nthreads < 1 || nthreads > VPRES_THRMAX || qmax < 1) {
		errno = EINVAL;
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->qmax = qmax;
	vpres_list_init(&r->wait);
	vpres_list_init(&r->done);
	if ((e = pthread_mutex_init(&r->mu, NULL)) != 0) {
		free(r);
		errno = e;
		return NULL;
	}
	if ((e = pthread_cond_init(&r->cv, NULL)) != 0) {
		pthread_mutex_destroy(&r->mu);
		free(r);
		errno = e;
		return NULL;
	}
	if ((r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		e = errno;
		vpres_destroy(r);
		errno = e;
		return NULL;
	}

	/* The threads inherit a full mask: signals stay with the owner. */
	sigfillset(&all);
	if ((e = pthread_sigmask(SIG_SETMASK, &all, &old)) != 0) {
		vpres_destroy(r);
		errno = e;
		return NULL;
	}
	for (i = 0; i < nthreads; i++) {
		if ((e = pthread_create(&r->th[i], NULL, vpres_worker, r)) != 0)
			break;
		r->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		vpres_stop(r);
		vpres_destroy(r);
		errno = e;
		return NULL;
	}
	return r;
}

int
vpresolve_fd(const struct vpresolve *r)
{
	return r->efd;
}

int
vpresolve_submit(struct vpresolve *r, uint64_t tag, const char *host,
    unsigned port, int family)
{
	struct vpres_req *q;
	size_t len;

	if (host == NULL || port > 65535 || (family != AF_UNSPEC &&
	    family != AF_INET && family != AF_INET6)) {
		errno = EINVAL;
		return -1;
	}
	if ((len = strnlen(host, VPRES_HOSTMAX + 1)) > VPRES_HOSTMAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* outstanding is the owner's alone (submit and take): no lock. */
	if (r->outstanding >= r->qmax) {
		errno = EAGAIN;
		return -1;
	}

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	q->tag = tag;
	q->family = family;
	q->port = port;
	memcpy(q->host, host, len);
	q->host[len] = '\0';

	r->outstanding++;
	if (vpres_literal(q)) {
		pthread_mutex_lock(&r->mu);
		vpres_finish(r, q);
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	pthread_mutex_lock(&r->mu);
	vpres_list_push(&r->wait, q);
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

int
vpresolve_take(struct vpresolve *r, uint64_t *tag, struct addrinfo **res,
    int *gai, int *sys_errno)
{
	struct vpres_req *q;
	uint64_t cnt;
	ssize_t n;

	pthread_mutex_lock(&r->mu);
	if ((q = vpres_list_pop(&r->done)) == NULL) {
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	if (r->done.head == NULL) {
		/* Last one taken: the descriptor stops being readable. */
		n = read(r->efd, &cnt, sizeof(cnt));
		(void)n;
	}
	pthread_mutex_unlock(&r->mu);
	r->outstanding--;

	*tag = q->tag;
	*res = q->res;
	*gai = q->gai;
	*sys_errno = q->sys_errno;
	free(q);
	return 1;
}

void
vpresolve_free(struct vpresolve *r)
{
	if (r == NULL)
		return;
	vpres_stop(r);
	vpres_destroy(r);
}

void
vpresolve_forget(struct vpresolve *r)
{
	if (r == NULL)
		return;
	if (r->efd != -1) {
		close(r->efd);
		r->efd = -1;
	}
}

/* --- one lookup, one thread ---------------------------------------- */

struct vplookup {
	struct vpres_req	 q;
	int			 efd;
	int			 taken;
	atomic_int		 refs;	/* the owner's and the thread's */
	atomic_int		 done;
};

static void
vplookup_unref(struct vplookup *l)
{
	if (atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	if (l->q.res != NULL)
		freeaddrinfo(l->q.res);
	(void)close(l->efd);
	free(l);
}

static void
vplookup_finish(struct vplookup *l)
{
	uint64_t one = 1;

	atomic_store(&l->done, 1);
	while (write(l->efd, &one, sizeof(one)) == -1 && errno == EINTR)
		;
}

static void *
vplookup_main(void *arg)
{
	struct vplookup *l = arg;

	vpres_lookup(&l->q, 0);
	vplookup_finish(l);
	vplookup_unref(l);
	return NULL;
}

struct vplookup *
vplookup_start(const char *host, unsigned port)
{
	struct vplookup *l;
	pthread_attr_t attr;
	pthread_t th;
	sigset_t all, old;
	size_t len;
	int e;

	if (host == NULL || port > 65535) {
		errno = EINVAL;
		return NULL;
	}
	if ((len = strnlen(host, VPRES_HOSTMAX + 1)) > VPRES_HOSTMAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->q.family = AF_UNSPEC;
	l->q.port = port;
	memcpy(l->q.host, host, len);
	if ((l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		free(l);
		return NULL;
	}
	atomic_init(&l->refs, 1);
	atomic_init(&l->done, 0);
	if (vpres_literal(&l->q)) {
		vplookup_finish(l);
		return l;
	}
	atomic_store(&l->refs, 2);
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((e = pthread_attr_init(&attr)) == 0) {
		(void)pthread_attr_setdetachstate(&attr,
		    PTHREAD_CREATE_DETACHED);
		e = pthread_create(&th, &attr, vplookup_main, l);
		(void)pthread_attr_destroy(&attr);
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		(void)close(l->efd);
		free(l);
		errno = e;
		return NULL;
	}
	return l;
}

int
vplookup_fd(const struct vplookup *l)
{
	return l->efd;
}

int
vplookup_take(struct vplookup *l, struct addrinfo **res, int *gai,
    int *sys_errno)
{
	if (l->taken || !atomic_load(&l->done))
		return 0;
	l->taken = 1;
	*res = l->q.res;
	l->q.res = NULL;
	*gai = l->q.gai;
	*sys_errno = l->q.sys_errno;
	return 1;
}

void
vplookup_free(struct vplookup *l)
{
	if (l != NULL)
		vplookup_unref(l);
}
