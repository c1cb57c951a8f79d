/*
 * vprelay: move bytes both ways between two streams until both
 * directions have ended (DESIGN.md "Relay").
 *
 * Side a is (a_in, a_out), side b is (b_in, b_out); a_in == a_out (one
 * socket) is fine, so are two pipes, a TTY or a regular file. Direction
 * a->b copies a_in to b_out, b->a copies b_in to a_out.
 *
 * - splice(2) through a pipe when both ends of a direction allow it
 *   (sockets, pipes, regular files), read/write with a bounded buffer
 *   otherwise; poll-driven; EAGAIN and EINTR are never failures.
 * - EOF on a direction's input, once its buffer is drained, ends that
 *   direction: shutdown(SHUT_WR) when the output is a socket, else the
 *   output descriptor is replaced by /dev/null (dup2), which closes a
 *   pipe's write end while keeping the number valid for the caller.
 *   The other direction keeps flowing.
 * - A pipe's reader going away (EPIPE, POLLERR) ends that direction
 *   quietly, as does a socket hanging up while nothing waits to be
 *   sent to it; a socket that fails with bytes still to send (EPIPE,
 *   ECONNRESET) is an error: those bytes are lost.
 * - Returns when both directions have ended, on the idle timeout, on a
 *   read/write error, or when *stop becomes nonzero.
 *
 * Sockets and pipes are switched to O_NONBLOCK for the run and their
 * flags restored after; other descriptors are left blocking and only
 * touched when poll says they are ready. SIGPIPE is ignored during the
 * run if it was at its default. The caller keeps ownership of all four
 * descriptors. Memory: one pipe (VPRELAY_PIPESZ, or opts->pipesz) or
 * one VPRELAY_BUFSZ buffer per direction; when the kernel grants a
 * smaller pipe than asked and under 64 KiB (a user past
 * fs.pipe-user-pages-soft), that direction copies with the buffer.
 *
 * Never exits, never logs.
 */
#ifndef VPRELAY_H
#define VPRELAY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "vphttpbody.h"

struct vprelay_opts {
	/* end after this long without a byte; <= 0 none */
	int		 idle_ms;
	/* sent to b_out before anything from a_in */
	const void	*pre;
	size_t		 prelen;
	/* splice pipe size; 0: VPRELAY_PIPESZ */
	size_t		 pipesz;
	/* mask while waiting (ppoll), NULL: as is */
	const sigset_t	*sigmask;
	/* nonzero: end now (checked after each wait) */
	volatile sig_atomic_t *stop;
	/*
	 * Non-NULL: a_in carries one HTTP request body framed by it
	 * (vphttpbody.h; pre-data is not fed to it). a->b passes the
	 * body's bytes only (a chunked body is copied, a length spliced
	 * at most up to its end); once the body is complete a_in is
	 * watched, not relayed: what it sends next (another request, or
	 * EOF), or the end of b->a, shuts b_out down as at EOF, not
	 * before. Malformed framing is an error (EPROTO), also when the
	 * body had failed before the call: then pre goes out first.
	 */
	struct vphb	*body;
	/*
	 * Nonzero: b may stop reading and go at any time (a command that
	 * answers without reading all it is sent): writing to b_out then
	 * ends a->b only, and b->a is drained to its end, not an error.
	 */
	int		 b_quits;
	int		 bodymore;	/* bytes came after the body already
					   (dropped from pre): shut b_out
					   once the body is through */
};

enum vprelay_end {
	VPRELAY_DONE = 0,	/* both directions ended */
	VPRELAY_IDLE,		/* idle timeout */
	VPRELAY_STOPPED,	/* *stop was set */
	VPRELAY_ERROR		/* read/write error, see err */
};

struct vprelay_stats {
	/* bytes a_in -> b_out (pre-data included) */
	uint64_t	 ab;
	uint64_t	 ba;		/* bytes b_in -> a_out */
	enum vprelay_end end;
	int		 err;		/* errno for VPRELAY_ERROR */
	int		 splice_ab;	/* 1 if the direction used splice */
	int		 splice_ba;
	int		 eof_a;		/* a_in reached EOF */
	int		 eof_b;		/* b_in reached EOF */
	int		 body_done;	/* opts->body completed */
};

#define VPRELAY_PIPESZ	(1024 * 1024)	/* fs.pipe-max-size's default */
#define VPRELAY_BUFSZ	(64 * 1024)

/*
 * vprelay_run(): relays until the end described above. opts may be
 * NULL (no idle timeout, no pre-data); stats may be NULL. Returns 0
 * when both directions ended or *stop was set, -1 with errno set on a
 * read/write error (errno also in stats->err) or ETIMEDOUT on the idle
 * timeout. Byte counts are valid either way.
 */
int	vprelay_run(int a_in, int a_out, int b_in, int b_out,
	    const struct vprelay_opts *opts, struct vprelay_stats *stats);

/* A short text for e: "done", "idle timeout", "stopped", "error". */
const char *vprelay_end_str(enum vprelay_end e);

#endif
