# Helpers for the integration tests; sourced by each tests/integration/t_*.sh.
#
# Each test prints "ok - what", "not ok - what" or "skip - what" lines;
# tests/run.sh counts them. Only loopback addresses; every process a test
# starts is recorded and ended by pid at exit; no sleeps as
# synchronisation (wait for readiness, bounded).

set -u
: "${VP_BIN:?}"
PATH=$VP_BIN:$PATH
export PATH
T=$(mktemp -d /tmp/vp-test.XXXXXX)
PIDS=""
FAILED=0

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok()    { echo "ok - $*"; }
notok() { echo "not ok - $*"; FAILED=1; }
skip()  { echo "skip - $*"; }

# check NAME CMD...: ok if CMD succeeds.
check() {
	_name=$1; shift
	if "$@"; then ok "$_name"; else notok "$_name"; fi
}

# bg CMD...: start CMD in the background and remember its pid in $LASTPID.
bg() {
	"$@" &
	LASTPID=$!
	PIDS="$PIDS $LASTPID"
}

# need PROG...: skip the whole test if a peer program is missing.
need() {
	for _p in "$@"; do
		if ! command -v "$_p" >/dev/null 2>&1; then
			skip "$_p not installed"
			exit 0
		fi
	done
}

# free_port: prints a TCP port free on 127.0.0.1 right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_tcp PORT [HOST]: waits (bounded, 10 s) until PORT accepts.
wait_tcp() {
	_h=${2:-127.0.0.1}
	_i=0
	while [ $_i -lt 200 ]; do
		if python3 -c "import socket,sys; socket.create_connection(('$_h',$1),1).close()" 2>/dev/null; then
			return 0
		fi
		_i=$((_i + 1))
		sleep 0.05
	done
	return 1
}

# wait_path PATH: waits (bounded, 10 s) until a socket or file appears.
wait_path() {
	_i=0
	while [ $_i -lt 200 ]; do
		[ -e "$1" ] && return 0
		_i=$((_i + 1))
		sleep 0.05
	done
	return 1
}

# listen_ready VAR CMD...: starts CMD (a vp program run with -1, which
# prints its bound port on stdout when ready) in the background and sets
# VAR to the port. Waits on a fifo: no polling.
listen_ready() {
	_var=$1; shift
	_LRN=$((${_LRN:-0} + 1))
	_fifo=$T/ready.$$.$_LRN
	mkfifo "$_fifo"
	"$@" >"$_fifo" &
	LASTPID=$!
	PIDS="$PIDS $LASTPID"
	read -r _port <"$_fifo" || _port=""
	rm -f "$_fifo"
	eval "$_var=\$_port"
	[ -n "$_port" ]
}

# rand_file PATH BYTES: random data.
rand_file() {
	head -c "$2" /dev/urandom >"$1"
}

sha() { sha256sum <"$1" | cut -d' ' -f1; }

# same A B: byte-for-byte identical files.
same() { cmp -s "$1" "$2"; }

# rss_kb PID: resident size in KiB (0 if gone); nchildren PID: how many
# child processes PID has.
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
nchildren() { ps -o pid= --ppid "$1" | wc -l; }

finish() { exit 0; }

# sshd_start: a real sshd on 127.0.0.1 for ProxyCommand tests (needs
# root). Makes a host key and a user key in $T, starts sshd on a free
# port and waits for it; sets SSHD_PORT and SSH_OPTS (the client options:
# the key, no config file, no host key prompts). Returns 1 (after a
# "skip" line) when sshd or root is missing, 2 if it did not start.
#   sshd_start || finish
#   ssh $SSH_OPTS -p "$SSHD_PORT" -o ProxyCommand='vp-dial %h %p' root@127.0.0.1 true
sshd_start() {
	if [ ! -x /usr/sbin/sshd ] || [ "$(id -u)" != 0 ]; then
		skip "sshd test needs /usr/sbin/sshd and root"
		return 1
	fi
	# sshd insists on its privilege separation directory
	[ -d /run/sshd ] || mkdir -p -m 0755 /run/sshd
	rm -f "$T/sshd_host" "$T/sshd_host.pub" "$T/sshd_id" "$T/sshd_id.pub"
	ssh-keygen -q -t ed25519 -N '' -f "$T/sshd_host" || return 2
	ssh-keygen -q -t ed25519 -N '' -f "$T/sshd_id" || return 2
	cp "$T/sshd_id.pub" "$T/sshd_authorized_keys"
	SSHD_PORT=$(free_port)
	cat >"$T/sshd_config" <<SSHD_EOF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $T/sshd_host
AuthorizedKeysFile $T/sshd_authorized_keys
PidFile none
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
LogLevel ERROR
SSHD_EOF
	bg /usr/sbin/sshd -D -e -f "$T/sshd_config"
	SSH_OPTS="-F /dev/null -i $T/sshd_id -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=$T/sshd_known -o LogLevel=ERROR"
	wait_tcp "$SSHD_PORT" || return 2
	return 0
}
