/*
 * vprelay: the two-way relay, splice(2) first, read/write where splice
 * cannot go (TTYs, character devices, append-mode files).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpio.h"
#include "vprelay.h"

enum { K_SOCK, K_FIFO, K_REG, K_OTHER };

/* Work done per direction per wake-up before the other gets a turn. */
#define VPRELAY_ROUNDS	8

struct vpdir {
	int		 in, out;
	int		 ikind, okind;
	int		 inb, onb;	/* regular files: always ready */
	int		 splice;	/* moving through p[] by splice(2) */
	int		 p[2];		/* the pipe (splice mode) */
	size_t		 inpipe;	/* bytes sitting in p[] */
	size_t		 pipesz;
	char		*buf;		/* read/write mode */
	size_t		 off, len;
	const char	*pre;		/* pre-data, sent first */
	size_t		 prelen, preoff;
	int		 eof;		/* input ended */
	int		 done;		/* output ended */
	int		 in_ready, out_ready; /* try without poll */
	int		 stalled;	/* pipe out of slots */
	int		 err;
	uint64_t	 bytes;
	int		 other_in;	/* other direction's input */
	struct vphb	*body;		/* framed input (a->b), or NULL */
	int		 outquits;	/* out may go early: direction over */
	int		 inquits;	/* in may reset: as EOF (b_quits) */
};

const char *
vprelay_end_str(enum vprelay_end e)
{
	switch (e) {
	case VPRELAY_DONE:
		return "done";
	case VPRELAY_IDLE:
		return "idle timeout";
	case VPRELAY_STOPPED:
		return "stopped";
	default:
		return "error";
	}
}

static int
fd_kind(int fd, int *append)
{
	struct stat st;
	int fl;

	*append = 0;
	if (fstat(fd, &st) == -1)
		return K_OTHER;
	if (S_ISSOCK(st.st_mode))
		return K_SOCK;
	if (S_ISFIFO(st.st_mode))
		return K_FIFO;
	if (S_ISREG(st.st_mode)) {
		if ((fl = fcntl(fd, F_GETFL)) != -1 && (fl & O_APPEND))
			*append = 1;
		return K_REG;
	}
	return K_OTHER;
}

static int
dir_pending(const struct vpdir *d)
{
	return d->preoff < d->prelen || d->inpipe > 0 || d->off < d->len;
}

/* Is there something to write right now (not just pipe leftovers)? */
static int
dir_outable(const struct vpdir *d)
{
	if (d->preoff < d->prelen)
		return 1;
	return d->splice ? d->inpipe > 0 : d->off < d->len;
}

/* May the direction read now (pre-data sent, room left, not ended)? */
static int
dir_can_read(const struct vpdir *d)
{
	if (d->eof || d->done || d->preoff < d->prelen)
		return 0;
	if (d->splice)
		return d->inpipe < d->pipesz && !d->stalled;
	return d->len < VPRELAY_BUFSZ;
}

/* Switches a direction to read/write; the pipe's bytes are read first. */
static int
dir_to_rw(struct vpdir *d)
{
	if (d->buf == NULL && (d->buf = malloc(VPRELAY_BUFSZ)) == NULL)
		return -1;
	d->splice = 0;
	d->off = d->len = 0;
	return 0;
}

/* Ends the direction's output (half-close). */
static void
dir_close_out(struct vpdir *d)
{
	int nul;

	d->done = 1;
	if (d->okind == K_SOCK) {
		(void)shutdown(d->out, SHUT_WR);
		return;
	}
	if (d->out == d->other_in)
		return;		/* one non-socket fd both ways */
	/* Drop this reference to the pipe/file, keep the number valid. */
	if ((nul = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1) {
		(void)close(d->out);
		return;
	}
	if (nul != d->out) {
		/* keep the number's close-on-exec flag as it was */
		(void)dup3(nul, d->out,
		    (fcntl(d->out, F_GETFD) & FD_CLOEXEC) ? O_CLOEXEC : 0);
		(void)close(nul);
	}
}

/* A socket's pending error (SO_ERROR), 0 if none. */
static int
sock_err(int fd)
{
	socklen_t l;
	int e = 0;

	l = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) == -1)
		return 0;
	return e;
}

static ssize_t
dir_write(struct vpdir *d, const void *b, size_t n)
{
	if (d->okind == K_SOCK)
		return send(d->out, b, n, MSG_NOSIGNAL);
	return write(d->out, b, n);
}

/*
 * Moves what can move now without blocking. Returns 0, or -1 with the
 * failure in d->err.
 */
static int
dir_pump(struct vpdir *d, int *moved)
{
	ssize_t r;
	size_t want, got_want;
	int rounds, progress, src;

	for (rounds = 0; rounds < VPRELAY_ROUNDS && !d->done; rounds++) {
		progress = 0;
		/* Output first: pre-data, then the pipe or buffer. */
		if (dir_outable(d) && (d->onb || d->out_ready)) {
			want = d->preoff < d->prelen ? d->prelen - d->preoff :
			    d->splice ? d->inpipe : d->len - d->off;
			if (d->preoff < d->prelen)
				r = dir_write(d, d->pre + d->preoff,
				    d->prelen - d->preoff);
			else if (d->splice)
				/*
				 * No SPLICE_F_MORE: it corks the socket and
				 * holds a lone keystroke back ~200 ms.
				 */
				r = splice(d->p[0], NULL, d->out, NULL,
				    d->inpipe, SPLICE_F_NONBLOCK |
				    SPLICE_F_MOVE);
			else
				r = dir_write(d, d->buf + d->off,
				    d->len - d->off);
			if (r > 0) {
				if (d->preoff < d->prelen)
					d->preoff += r;
				else if (d->splice)
					d->inpipe -= r;
				else if ((d->off += r) == d->len)
					d->off = d->len = 0;
				d->bytes += r;
				progress = 1;
				*moved = 1;
				d->stalled = 0;
				/*
				 * A short write means the socket or pipe is
				 * full: wait for POLLOUT rather than try again
				 * (one syscall less per chunk). A blocking fd
				 * is written once per POLLOUT.
				 */
				if (d->okind == K_OTHER || (size_t)r < want)
					d->out_ready = 0;
			} else if (r == 0 || (r == -1 && (errno == EAGAIN ||
			    errno == EINTR))) {
				d->out_ready = 0;
			} else if (r == -1 && errno == EINVAL && d->splice &&
			    d->preoff == d->prelen) {
				/* splice refused this output: copy instead */
				if (dir_to_rw(d) == -1)
					goto fail;
				progress = 1;
			} else if (r == -1 && ((errno == EPIPE &&
			    d->okind != K_SOCK) || (d->outquits &&
			    (errno == EPIPE || errno == ECONNRESET)))) {
				/* a pipe's reader went away: direction over */
				d->done = 1;
				return 0;
			} else if (r == -1 && (errno == EPIPE ||
			    errno == ECONNRESET)) {
				/*
				 * The socket was reset: this direction is
				 * over, with an error; the other one still
				 * passes on what came before the reset.
				 */
				d->err = errno;
				d->done = d->eof = 1;
				return 0;
			} else
				goto fail;
		}
		if (d->eof && !dir_pending(d)) {
			dir_close_out(d);
			return 0;
		}
		/*
		 * Malformed framing, now or among the bytes the caller read
		 * with the head: what went before it (pre) is out, so the
		 * relay ends.
		 */
		if (d->body != NULL && vphb_failed(d->body) &&
		    d->preoff == d->prelen) {
			errno = EPROTO;
			goto fail;
		}
		/*
		 * The request is complete: a_in is watched, no longer
		 * relayed. What comes next, another request or EOF, ends
		 * the direction; only then does the origin get its EOF
		 * (some take a half-close for an abort: Go's net/http
		 * cancels the request).
		 */
		if (d->body != NULL && vphb_done(d->body)) {
			if (!d->eof && (d->inb || d->in_ready)) {
				char tail[512];

				/* a socket keeps it (for the caller to drain) */
				r = d->ikind == K_SOCK ? recv(d->in, tail, 1,
				    MSG_PEEK | MSG_DONTWAIT) :
				    read(d->in, tail, sizeof(tail));
				if (r >= 0) {
					d->eof = 1;
					progress = 1;
				} else if (errno == EAGAIN || errno == EINTR)
					d->in_ready = 0;
				else
					goto fail;
			}
		} else if (dir_can_read(d) && (d->inb || d->in_ready ||
		    (!d->splice && d->inpipe > 0))) {
			/*
			 * Chunk framing next (a body's data spliced up to
			 * its end): it must be looked at, so copy from here.
			 */
			if (d->splice && d->body != NULL &&
			    vphb_raw(d->body) == 0) {
				if (dir_to_rw(d) == -1)
					goto fail;
				continue;
			}
			if (d->splice) {
				want = d->pipesz - d->inpipe;
				if (d->body != NULL && vphb_raw(d->body) < want)
					want = (size_t)vphb_raw(d->body);
				got_want = want;
				r = splice(d->in, NULL, d->p[1], NULL, want,
				    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
				if (r == -1 && errno == EINVAL) {
					/* this input cannot splice: copy */
					if (dir_to_rw(d) == -1)
						goto fail;
					continue;
				}
				if (r > 0)
					d->inpipe += r;
				if (r > 0 && d->body != NULL)
					vphb_skip(d->body, (uint64_t)r);
				/*
				 * A pipe holds a bounded number of buffers,
				 * not bytes: small socket segments fill it
				 * early. Wait for the output, not the input.
				 */
				if (r == -1 && errno == EAGAIN &&
				    d->inpipe > 0 && (d->in_ready || d->inb))
					d->stalled = 1;
			} else {
				if (d->off > 0 && d->off == d->len)
					d->off = d->len = 0;
				if (d->off > 0 && d->len == VPRELAY_BUFSZ) {
					memmove(d->buf, d->buf + d->off,
					    d->len - d->off);
					d->len -= d->off;
					d->off = 0;
				}
				/* leftovers of splice mode come first */
				src = d->inpipe > 0 ? d->p[0] : d->in;
				got_want = VPRELAY_BUFSZ - d->len;
				if (src == d->in && d->body != NULL &&
				    vphb_raw(d->body) > 0 &&
				    vphb_raw(d->body) < got_want)
					got_want = (size_t)vphb_raw(d->body);
				r = read(src, d->buf + d->len, got_want);
				if (r > 0 && src == d->p[0])
					d->inpipe -= r;
				/*
				 * the body's bytes only: the rest is dropped,
				 * and being there ends the direction
				 */
				if (r > 0 && src == d->in && d->body != NULL) {
					ssize_t k = vphb_feed(d->body,
					    d->buf + d->len, (size_t)r);

					if (k < 0) {
						errno = EPROTO;
						goto fail;
					}
					if (k < r)
						d->eof = 1;
					r = k;
				}
				if (r > 0)
					d->len += r;
			}
			if (r > 0) {
				progress = 1;
				*moved = 1;
				/*
				 * Less than asked for: the socket or pipe is
				 * drained, wait for POLLIN (saves an EAGAIN
				 * call per chunk). A blocking fd is read once
				 * per POLLIN.
				 */
				if (d->ikind == K_OTHER ||
				    (d->ikind != K_REG && (size_t)r < got_want))
					d->in_ready = 0;
			} else if (r == 0 && d->body != NULL &&
			    vphb_done(d->body)) {
				/* what came after the request was dropped */
				progress = 1;
			} else if (r == 0 || (d->inquits && errno == ECONNRESET)) {
				/* b gone with our bytes unread: its end too */
				d->eof = 1;
				progress = 1;
			} else if (errno == EAGAIN || errno == EINTR) {
				d->in_ready = 0;
			} else {
				/*
				 * A read error (a reset) ends the input; what
				 * was read before it still goes out, then the
				 * direction ends with the error.
				 */
				d->err = errno;
				d->eof = 1;
				progress = 1;
			}
		}
		if (!progress)
			break;
	}
	/* EOF may have come in the last round: end the direction now */
	if (d->eof && !d->done && !dir_pending(d))
		dir_close_out(d);
	return 0;
fail:
	d->err = errno;
	return -1;
}

static void
dir_init(struct vpdir *d, int in, int out, int other_in, size_t pipesz)
{
	int iapp, oapp;

	memset(d, 0, sizeof(*d));
	d->in = in;
	d->out = out;
	d->other_in = other_in;
	d->p[0] = d->p[1] = -1;
	d->ikind = fd_kind(in, &iapp);
	d->okind = fd_kind(out, &oapp);
	d->inb = d->ikind == K_REG;
	d->onb = d->okind == K_REG;
	/* sockets and pipes: try once at the start, then as poll says */
	d->in_ready = d->ikind == K_SOCK || d->ikind == K_FIFO;
	d->out_ready = d->okind == K_SOCK || d->okind == K_FIFO;
	d->pipesz = pipesz;
	d->splice = d->ikind != K_OTHER && d->okind != K_OTHER && !oapp;
}

/* Sets up the splice pipe or the buffer. 0 or -1. */
static int
dir_alloc(struct vpdir *d)
{
	int sz;

	if (d->splice) {
		if (pipe2(d->p, O_NONBLOCK | O_CLOEXEC) == -1)
			return dir_to_rw(d);
		/*
		 * Big pipes mean few splice calls: at 1 MiB the relay used
		 * half the CPU per GiB it did at 256 KiB. The kernel may
		 * refuse (fs.pipe-max-size) or, once a user's pipes pass
		 * fs.pipe-user-pages-soft, hand out tiny pipes: below
		 * 64 KiB plain copying with our buffer does better.
		 */
		(void)fcntl(d->p[1], F_SETPIPE_SZ, (int)d->pipesz);
		sz = fcntl(d->p[1], F_GETPIPE_SZ);
		if (sz < VPRELAY_BUFSZ && (sz < 0 || (size_t)sz < d->pipesz)) {
			close(d->p[0]);
			close(d->p[1]);
			d->p[0] = d->p[1] = -1;
			return dir_to_rw(d);
		}
		d->pipesz = (size_t)sz;
		return 0;
	}
	return dir_to_rw(d);
}

static void
dir_free(struct vpdir *d)
{
	if (d->p[0] != -1)
		close(d->p[0]);
	if (d->p[1] != -1)
		close(d->p[1]);
	free(d->buf);
}

int
vprelay_run(int a_in, int a_out, int b_in, int b_out,
    const struct vprelay_opts *opts, struct vprelay_stats *stats)
{
	struct vprelay_opts dflt;
	struct vprelay_stats st;
	struct vpdir dir[2], *d;
	struct pollfd pfd[4];
	struct sigaction sa, osa;
	struct timespec ts, *tsp;
	int fds[4], oldfl[4], kinds[4], app, i, n, r, moved, wait;
	int pipe_ign = 0, ret = 0, idx[4];
	int64_t last;

	if (opts == NULL) {
		memset(&dflt, 0, sizeof(dflt));
		opts = &dflt;
	}
	if (stats == NULL)
		stats = &st;
	memset(stats, 0, sizeof(*stats));

	dir_init(&dir[0], a_in, b_out, b_in,
	    opts->pipesz ? opts->pipesz : VPRELAY_PIPESZ);
	dir_init(&dir[1], b_in, a_out, a_in,
	    opts->pipesz ? opts->pipesz : VPRELAY_PIPESZ);
	dir[0].outquits = dir[1].inquits = opts->b_quits;
	dir[0].pre = opts->pre;
	dir[0].prelen = opts->pre != NULL ? opts->prelen : 0;
	if ((dir[0].body = opts->body) != NULL) {
		/* chunked framing is looked at: copy, don't splice */
		if (vphb_raw(opts->body) == 0)
			dir[0].splice = 0;
		if (vphb_done(opts->body) && opts->bodymore)
			dir[0].eof = 1;
	}
	if (dir_alloc(&dir[0]) == -1 || dir_alloc(&dir[1]) == -1) {
		stats->err = errno;
		dir_free(&dir[0]);
		dir_free(&dir[1]);
		stats->end = VPRELAY_ERROR;
		errno = stats->err;
		return -1;
	}
	stats->splice_ab = dir[0].splice;
	stats->splice_ba = dir[1].splice;

	/* Remember every flag before changing any: fds may share a file. */
	fds[0] = a_in, fds[1] = a_out, fds[2] = b_in, fds[3] = b_out;
	for (i = 0; i < 4; i++) {
		oldfl[i] = fcntl(fds[i], F_GETFL);
		kinds[i] = fd_kind(fds[i], &app);
	}
	for (i = 0; i < 4; i++)
		if (oldfl[i] != -1 && (kinds[i] == K_SOCK ||
		    kinds[i] == K_FIFO))
			(void)fcntl(fds[i], F_SETFL, oldfl[i] | O_NONBLOCK);

	if (sigaction(SIGPIPE, NULL, &osa) == 0 && osa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		pipe_ign = sigaction(SIGPIPE, &sa, NULL) == 0;
	}

	last = vpio_now_ms();
	moved = 0;
	for (i = 0; i < 2; i++) {
		if (dir_pump(&dir[i], &moved) == -1) {
			stats->err = dir[i].err;
			stats->end = VPRELAY_ERROR;
			goto out;
		}
		if (stats->err == 0)
			stats->err = dir[i].err;
	}
	for (;;) {
		if (opts->stop != NULL && *opts->stop) {
			stats->end = VPRELAY_STOPPED;
			break;
		}
		/* the request complete and its response over: nothing left */
		if (dir[0].body != NULL && vphb_done(dir[0].body) &&
		    dir[1].done && !dir[0].done && !dir_pending(&dir[0])) {
			dir[0].eof = 1;
			dir_close_out(&dir[0]);
		}
		if (dir[0].done && dir[1].done) {
			stats->end = stats->err != 0 ? VPRELAY_ERROR :
			    VPRELAY_DONE;
			break;
		}
		n = 0;
		for (i = 0; i < 2; i++) {
			d = &dir[i];
			/* touch a blocking fd only right after poll */
			if (d->ikind == K_OTHER)
				d->in_ready = 0;
			if (d->okind == K_OTHER)
				d->out_ready = 0;
			if (d->done)
				continue;
			if (dir_can_read(d)) {
				pfd[n].fd = d->in;
				pfd[n].events = POLLIN;
				idx[n++] = i * 2;
			}
			/* POLLOUT only with data; else just watch hangups */
			pfd[n].fd = d->out;
			pfd[n].events = dir_outable(d) ? POLLOUT : 0;
			idx[n++] = i * 2 + 1;
		}
		wait = -1;
		if (opts->idle_ms > 0) {
			int64_t left = last + opts->idle_ms - vpio_now_ms();

			if (left <= 0) {
				stats->end = VPRELAY_IDLE;
				stats->err = ETIMEDOUT;
				break;
			}
			wait = left > 86400000 ? 86400000 : (int)left;
		}
		if (opts->sigmask != NULL) {
			tsp = NULL;
			if (wait >= 0) {
				ts.tv_sec = wait / 1000;
				ts.tv_nsec = (long)(wait % 1000) * 1000000;
				tsp = &ts;
			}
			r = ppoll(pfd, n, tsp, opts->sigmask);
		} else
			r = poll(pfd, n, wait);
		if (r == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			stats->err = errno;
			stats->end = VPRELAY_ERROR;
			break;
		}
		if (r == 0)
			continue;
		for (i = 0; i < n; i++) {
			short ev = pfd[i].revents;

			if (ev == 0)
				continue;
			if (ev & POLLNVAL) {	/* a closed fd: caller error */
				stats->err = EBADF;
				stats->end = VPRELAY_ERROR;
				goto out;
			}
			d = &dir[idx[i] / 2];
			if (idx[i] % 2 == 0) {
				d->in_ready = 1;
				continue;
			}
			if (ev & (POLLOUT | POLLERR | POLLHUP))
				d->out_ready = 1;
			/*
			 * a_in is not read after a complete request: a reset
			 * of a's socket, which reading would have reported,
			 * is an error here too, pending bytes or not.
			 */
			if ((ev & (POLLERR | POLLHUP)) && d == &dir[1] &&
			    !d->done && d->okind == K_SOCK &&
			    dir[0].body != NULL && vphb_done(dir[0].body) &&
			    (r = sock_err(d->out)) != 0) {
				stats->err = r;
				stats->end = VPRELAY_ERROR;
				goto out;
			}
			/*
			 * The output's reader is gone (pipe POLLERR, socket
			 * reset) and nothing waits to go: direction over.
			 */
			if ((ev & (POLLERR | POLLHUP)) && !dir_pending(d))
				d->done = 1;
		}
		moved = 0;
		for (i = 0; i < 2; i++) {
			if (dir_pump(&dir[i], &moved) == -1) {
				stats->err = dir[i].err;
				stats->end = VPRELAY_ERROR;
				goto out;
			}
			/* the first to end with an error names the end */
			if (stats->err == 0)
				stats->err = dir[i].err;
		}
		if (moved)
			last = vpio_now_ms();
	}
out:
	stats->ab = dir[0].bytes;
	stats->ba = dir[1].bytes;
	stats->eof_a = dir[0].eof;
	stats->eof_b = dir[1].eof;
	stats->body_done = opts->body != NULL && vphb_done(opts->body);
	if (pipe_ign)
		(void)sigaction(SIGPIPE, &osa, NULL);
	for (i = 0; i < 4; i++)
		if (oldfl[i] != -1 && (kinds[i] == K_SOCK ||
		    kinds[i] == K_FIFO))
			(void)fcntl(fds[i], F_SETFL, oldfl[i]);
	dir_free(&dir[0]);
	dir_free(&dir[1]);
	if (stats->end == VPRELAY_ERROR || stats->end == VPRELAY_IDLE) {
		ret = -1;
		errno = stats->err;
	}
	return ret;
}
