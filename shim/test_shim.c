/* Tests of libshardinit_preload.so, run two ways by test.sh:
 *   - build/test_shim with LD_PRELOAD=build/libshardinit_preload.so
 *     (plainly and under valgrind), and
 *   - build/test_shim_asan, with the shim's sources compiled in, under
 *     AddressSanitizer and UndefinedBehaviorSanitizer (the program's own
 *     bind/listen are then the shim's, which reaches libc via RTLD_NEXT).
 *
 * Without arguments it is the driver: it binds listening sockets the way
 * shardinit does, then runs itself as a worker (fork, fds 3.., LISTEN_PID
 * set to the child's pid, exec) once per mode and checks each exit
 * status and stderr. All traffic goes to 127.0.0.1 / ::1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef SHIM_LINKED
#include "filter.h"
#endif

static int failures;
static int checks;

#define CHECK(cond)                                                            \
	do {                                                                   \
		int e_ = errno;                                                \
		__atomic_add_fetch(&checks, 1, __ATOMIC_RELAXED);              \
		if (!(cond)) {                                                 \
			__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);    \
			fprintf(stderr, "FAIL %s:%d: %s (errno %d %s)\n",      \
				__func__, __LINE__, #cond, e_, strerror(e_));  \
		}                                                              \
		errno = e_;                                                    \
	} while (0)

/* ---- small helpers --------------------------------------------------------- */

static struct sockaddr_in sin4(const char *host, int port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &a.sin_addr);
	return a;
}

static struct sockaddr_in6 sin6(const char *host, int port)
{
	struct sockaddr_in6 a;
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons((uint16_t)port);
	inet_pton(AF_INET6, host, &a.sin6_addr);
	return a;
}

static int bind4(int fd, const char *host, int port)
{
	struct sockaddr_in a = sin4(host, port);
	return bind(fd, (struct sockaddr *)&a, sizeof(a));
}

static int bind6(int fd, const char *host, int port)
{
	struct sockaddr_in6 a = sin6(host, port);
	return bind(fd, (struct sockaddr *)&a, sizeof(a));
}

static ino_t ino_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

static int int_opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	if (getsockopt(fd, level, name, &v, &len) < 0)
		return -1;
	return v;
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

/* Connects to 127.0.0.1:port and accepts on lfd within 2 s. */
static int roundtrip4(int lfd, int port)
{
	struct sockaddr_in a = sin4("127.0.0.1", port);
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s = -1, ok = 0;

	if (c >= 0 && connect(c, (struct sockaddr *)&a, sizeof(a)) == 0 && poll(&p, 1, 2000) == 1) {
		s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		ok = s >= 0;
	}
	if (s >= 0)
		close(s);
	if (c >= 0)
		close(c);
	return ok;
}

/* The inherited listening socket bound to port (fds 3..19). */
static ino_t inherited_ino(int port)
{
	int fd;
	for (fd = 3; fd < 20; fd++)
		if (int_opt(fd, SOL_SOCKET, SO_ACCEPTCONN) == 1 && local_port(fd) == port)
			return ino_of(fd);
	return 0;
}

static int is_port(int p)
{
	return p > 0 && p < 65536;
}

/* ---- worker mode "handover": LISTEN_FDS for this process ------------------ */

struct ports {
	int lo4, dual, lo6, any4, v6only, udp, bound;
};

static struct ports P;

static void t_basic(void)
{
	ino_t want = inherited_ino(P.lo4);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	CHECK(want != 0);
	errno = 4242;
	CHECK(bind4(s, "127.0.0.1", P.lo4) == 0);
	CHECK(errno == 4242);
	CHECK(ino_of(s) == want);
	CHECK(fcntl(s, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(s, F_GETFL) & O_NONBLOCK);
	CHECK(local_port(s) == P.lo4);
	errno = 4343;
	CHECK(listen(s, 1) == 0);
	CHECK(errno == 4343);
	CHECK(int_opt(s, SOL_SOCKET, SO_ACCEPTCONN) == 1);
	CHECK(roundtrip4(s, P.lo4));
	/* A second bind of the same fd is the program's error, as without us. */
	CHECK(bind4(s, "127.0.0.1", P.lo4) == -1 && errno == EINVAL);
	close(s);
}

/* Each listener goes to any number of binds, with each caller's flags. */
static void t_rebind(void)
{
	ino_t want = inherited_ino(P.lo4);
	int a = socket(AF_INET, SOCK_STREAM, 0);
	int b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(bind4(a, "127.0.0.1", P.lo4) == 0);
	CHECK(bind4(b, "127.0.0.1", P.lo4) == 0);
	CHECK(ino_of(a) == want && ino_of(b) == want);
	CHECK((fcntl(a, F_GETFD) & FD_CLOEXEC) == 0);
	CHECK(fcntl(b, F_GETFD) & FD_CLOEXEC);
	CHECK((fcntl(a, F_GETFL) & O_NONBLOCK) == 0); /* t_basic had set it */
	CHECK(listen(a, 5) == 0 && listen(b, 5) == 0);
	CHECK(roundtrip4(a, P.lo4));
	close(a);
	close(b);
}

/* Addresses that are not an inherited listener's go to the real bind. */
static void t_not_ours(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);

	/* 0.0.0.0 does not match a specific 127.0.0.1 listener. */
	CHECK(bind4(s, "0.0.0.0", P.lo4) == -1 && errno == EADDRINUSE);
	/* A bound but not listening socket is not handed over. */
	CHECK(bind4(s, "127.0.0.1", P.bound) == -1 && errno == EADDRINUSE);
	CHECK(bind(s, NULL, 0) == -1);
	CHECK(bind(s, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET}, 2) == -1 &&
	      errno == EINVAL);
	/* An unrelated port: the real bind and the real listen. */
	CHECK(bind4(s, "127.0.0.1", 0) == 0);
	CHECK(listen(s, 3) == 0);
	CHECK(int_opt(s, SOL_SOCKET, SO_ACCEPTCONN) == 1);
	CHECK(ino_of(s) != inherited_ino(P.lo4));
	CHECK(roundtrip4(s, local_port(s)));
	close(s);
	/* listen() without bind: the kernel picks a port, as usual. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(listen(s, 1) == 0 && local_port(s) > 0);
	close(s);
	/* An AF_INET address on an AF_INET6 socket stays the program's error. */
	s = socket(AF_INET6, SOCK_STREAM, 0);
	if (s >= 0) {
		CHECK(bind4(s, "127.0.0.1", P.lo4) == -1);
		CHECK(int_opt(s, SOL_SOCKET, SO_DOMAIN) == AF_INET6);
		close(s);
	}
}

static void t_udp_unix(void)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0), v;
	struct sockaddr_in to = sin4("127.0.0.1", P.lo4);
	char buf[8] = {0};
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	socklen_t unlen;

	/* UDP on the TCP listener's port: not ours, and UDP has its own ports. */
	CHECK(bind4(u, "127.0.0.1", P.lo4) == 0);
	CHECK(int_opt(u, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM);
	CHECK(sendto(u, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to)) == 4);
	CHECK(recv(u, buf, sizeof(buf), 0) == 4 && memcmp(buf, "ping", 4) == 0);
	close(u);
	/* The inherited UDP socket is skipped: its port stays taken. */
	u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(bind4(u, "127.0.0.1", P.udp) == -1 && errno == EADDRINUSE);
	close(u);

	/* An abstract unix socket: bind, listen, connect. */
	snprintf(un.sun_path + 1, sizeof(un.sun_path) - 1, "shardinit-shim-test-%d", (int)getpid());
	unlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(un.sun_path + 1));
	u = socket(AF_UNIX, SOCK_STREAM, 0);
	v = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(u, (struct sockaddr *)&un, unlen) == 0);
	CHECK(listen(u, 1) == 0);
	CHECK(int_opt(u, SOL_SOCKET, SO_ACCEPTCONN) == 1);
	CHECK(connect(v, (struct sockaddr *)&un, unlen) == 0);
	close(v);
	close(u);
}

static void t_wildcards(void)
{
	int s;

	if (!is_port(P.dual))
		return; /* no IPv6 on this machine */
	/* 0.0.0.0 takes a dual-stack [::], and serves IPv4 through it. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(bind4(s, "0.0.0.0", P.dual) == 0);
	CHECK(ino_of(s) == inherited_ino(P.dual));
	CHECK(int_opt(s, SOL_SOCKET, SO_DOMAIN) == AF_INET6);
	CHECK(listen(s, 1) == 0 && roundtrip4(s, P.dual));
	close(s);
	/* [::] takes [::]. */
	s = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK(bind6(s, "::", P.dual) == 0 && ino_of(s) == inherited_ino(P.dual));
	close(s);
	/* [::] takes 0.0.0.0, and 0.0.0.0 takes 0.0.0.0. */
	s = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK(bind6(s, "::", P.any4) == 0 && ino_of(s) == inherited_ino(P.any4));
	CHECK(int_opt(s, SOL_SOCKET, SO_DOMAIN) == AF_INET);
	close(s);
	s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(bind4(s, "0.0.0.0", P.any4) == 0 && ino_of(s) == inherited_ino(P.any4));
	close(s);
	/* A specific IPv6 address takes the same address... */
	s = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK(bind6(s, "::1", P.lo6) == 0 && ino_of(s) == inherited_ino(P.lo6));
	close(s);
	/* ...but not a wildcard listener. */
	s = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK(bind6(s, "::1", P.dual) == -1 && errno == EADDRINUSE);
	close(s);
	/* ::ffff:127.0.0.1 is 127.0.0.1 (what Java binds). */
	s = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK(bind6(s, "::ffff:127.0.0.1", P.lo4) == 0 && ino_of(s) == inherited_ino(P.lo4));
	close(s);
	/* 0.0.0.0 does not take an IPv6-only [::]: the real bind succeeds. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(bind4(s, "0.0.0.0", P.v6only) == 0);
	CHECK(ino_of(s) != inherited_ino(P.v6only));
	close(s);
}

/* The program replaces a handed-over fd: listen() must be real again. */
static void t_dup(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int t = socket(AF_INET, SOCK_STREAM, 0);
	int d;

	CHECK(bind4(s, "127.0.0.1", P.lo4) == 0);
	d = dup(s);
	CHECK(listen(d, 1) == 0 && ino_of(d) == inherited_ino(P.lo4));
	close(d);
	CHECK(bind4(t, "127.0.0.1", 0) == 0);
	CHECK(dup2(t, s) == s);
	CHECK(listen(s, 2) == 0);
	CHECK(int_opt(t, SOL_SOCKET, SO_ACCEPTCONN) == 1);
	close(s);
	close(t);
}

#define THREADS 16
#define ROUNDS 40

static void *thread_main(void *arg)
{
	ino_t lo4 = inherited_ino(P.lo4), dual = inherited_ino(P.dual);
	int i, s;

	for (i = 0; i < ROUNDS; i++) {
		struct sockaddr_un un = {.sun_family = AF_UNIX};
		socklen_t unlen;

		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(bind4(s, "127.0.0.1", P.lo4) == 0 && ino_of(s) == lo4);
		CHECK(listen(s, 1) == 0);
		close(s);
		if (is_port(P.dual)) {
			s = socket(AF_INET6, SOCK_STREAM, 0);
			CHECK(bind6(s, "::", P.dual) == 0 && ino_of(s) == dual);
			close(s);
		}
		s = socket(AF_INET, SOCK_STREAM, 0);
		CHECK(bind4(s, "127.0.0.1", 0) == 0 && listen(s, 1) == 0);
		CHECK(int_opt(s, SOL_SOCKET, SO_ACCEPTCONN) == 1);
		close(s);
		s = socket(AF_INET, SOCK_DGRAM, 0);
		CHECK(bind4(s, "127.0.0.1", 0) == 0);
		close(s);
		snprintf(un.sun_path + 1, sizeof(un.sun_path) - 1, "shardinit-shim-%d-%ld-%d",
			 (int)getpid(), (long)(intptr_t)arg, i);
		unlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(un.sun_path + 1));
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		CHECK(bind(s, (struct sockaddr *)&un, unlen) == 0 && listen(s, 1) == 0);
		close(s);
	}
	return NULL;
}

static void t_threads(void)
{
	pthread_t th[THREADS];
	int i, started = 0;

	for (i = 0; i < THREADS; i++)
		if (pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i) == 0)
			started++;
		else
			break;
	CHECK(started == THREADS);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* Last: the program closes fd 3 and the number is reused by a new socket.
 * That socket must not be "handed over" to itself. */
static void t_closed_inherited(void)
{
	int fd = 3, s;

	CHECK(local_port(fd) == P.lo4);
	close(fd);
	s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(s == fd);
	CHECK(bind4(s, "127.0.0.1", P.lo4) == -1 && errno == EADDRINUSE);
	CHECK(int_opt(s, SOL_SOCKET, SO_ACCEPTCONN) == 0);
	CHECK(listen(s, 1) == 0 && local_port(s) != P.lo4); /* the real listen */
	close(s);
}

static int parse_ports(char **argv)
{
	P.lo4 = atoi(argv[0]);
	P.dual = atoi(argv[1]);
	P.lo6 = atoi(argv[2]);
	P.any4 = atoi(argv[3]);
	P.v6only = atoi(argv[4]);
	P.udp = atoi(argv[5]);
	P.bound = atoi(argv[6]);
	return is_port(P.lo4) && is_port(P.any4) && is_port(P.udp) && is_port(P.bound);
}

static void worker_handover(void)
{
	t_basic();
	t_rebind();
	t_not_ours();
	t_udp_unix();
	t_wildcards();
	t_dup();
	t_threads();
	t_closed_inherited();
}

/* ---- worker mode "many": LISTEN_FDS=1000, most of them not open ----------- */

static void worker_many(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(bind4(s, "127.0.0.1", P.lo4) == 0 && ino_of(s) == inherited_ino(P.lo4));
	close(s);
}

/* ---- worker mode "foreign": LISTEN_PID is another process ----------------- */

static void worker_foreign(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(bind4(s, "127.0.0.1", P.lo4) == -1 && errno == EADDRINUSE);
	close(s);
}

/* ---- worker mode "filters": SHARDINIT_SHIM_* set by the driver ------------ */

static int bound_socket(int type, const char *host, int port, int v6)
{
	int s = socket(v6 ? AF_INET6 : AF_INET, type, 0);
	int r = v6 ? bind6(s, host, port) : bind4(s, host, port);
	CHECK(r == 0);
	return s;
}

static void worker_filters(int pa, int pb, int pc, int pd)
{
	char dev[IFNAMSIZ] = {0};
	socklen_t devlen = sizeof(dev);
	int a, b, c, d, e;

	/* SHARDINIT_SHIM_REUSEPORT=":pa,[::1]:*,...": two servers share pa. */
	a = bound_socket(SOCK_STREAM, "127.0.0.1", pa, 0);
	b = bound_socket(SOCK_STREAM, "127.0.0.1", pa, 0);
	CHECK(int_opt(a, SOL_SOCKET, SO_REUSEPORT) == 1 && int_opt(b, SOL_SOCKET, SO_REUSEPORT) == 1);
	CHECK(int_opt(a, SOL_SOCKET, SO_REUSEADDR) == 0);
	CHECK(listen(a, 1) == 0 && listen(b, 1) == 0);
	close(a);
	close(b);
	/* SHARDINIT_SHIM_REUSEADDR="127.0.0.1:pb". */
	a = bound_socket(SOCK_STREAM, "127.0.0.1", pb, 0);
	CHECK(int_opt(a, SOL_SOCKET, SO_REUSEADDR) == 1 && int_opt(a, SOL_SOCKET, SO_REUSEPORT) == 0);
	close(a);
	/* SHARDINIT_SHIM_BINDTODEVICE=lo, _FILTER=":pc". Setting it needs
	 * CAP_NET_RAW; without it the bind still succeeds (checked above). */
	a = bound_socket(SOCK_STREAM, "127.0.0.1", pc, 0);
	if (getuid() == 0) {
		CHECK(getsockopt(a, SOL_SOCKET, SO_BINDTODEVICE, dev, &devlen) == 0);
		CHECK(strcmp(dev, "lo") == 0);
	}
	close(a);
	/* Not in any filter: nothing set, and a second bind fails. */
	a = bound_socket(SOCK_STREAM, "127.0.0.1", pd, 0);
	CHECK(int_opt(a, SOL_SOCKET, SO_REUSEPORT) == 0 && int_opt(a, SOL_SOCKET, SO_REUSEADDR) == 0);
	devlen = sizeof(dev);
	memset(dev, 0, sizeof(dev));
	CHECK(getsockopt(a, SOL_SOCKET, SO_BINDTODEVICE, dev, &devlen) == 0 && dev[0] == '\0');
	CHECK(listen(a, 1) == 0);
	b = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(bind4(b, "127.0.0.1", pd) == -1 && errno == EADDRINUSE);
	close(b);
	close(a);
	/* [::1]:* : any port on ::1, not on 127.0.0.1. */
	c = socket(AF_INET6, SOCK_STREAM, 0);
	if (c >= 0 && bind6(c, "::1", pd) == 0) {
		CHECK(int_opt(c, SOL_SOCKET, SO_REUSEPORT) == 1);
		close(c);
	}
	/* UDP sockets get the options too; port 0 never does. */
	d = bound_socket(SOCK_DGRAM, "127.0.0.1", pa, 0);
	CHECK(int_opt(d, SOL_SOCKET, SO_REUSEPORT) == 1);
	close(d);
	e = bound_socket(SOCK_STREAM, "127.0.0.1", 0, 0);
	CHECK(int_opt(e, SOL_SOCKET, SO_REUSEPORT) == 0);
	close(e);
}

/* ---- unit tests of the parser (only when the shim is compiled in) --------- */

#ifdef SHIM_LINKED
static int matches(const char *spec, const char *host, int port)
{
	struct filter f;
	struct sockaddr_storage ss;
	struct inaddr a;
	socklen_t len;

	filter_parse(&f, "TEST", spec);
	if (strchr(host, ':')) {
		*(struct sockaddr_in6 *)&ss = sin6(host, port);
		len = sizeof(struct sockaddr_in6);
	} else {
		*(struct sockaddr_in *)&ss = sin4(host, port);
		len = sizeof(struct sockaddr_in);
	}
	if (inaddr_from_sockaddr(&a, (struct sockaddr *)&ss, len) < 0)
		return -1;
	return filter_match(&f, &a);
}

static int entries(const char *spec)
{
	struct filter f;
	filter_parse(&f, "TEST", spec);
	return f.n;
}

static void unit_filters(void)
{
	char big[4096];
	struct inaddr a;
	struct sockaddr_in s4 = sin4("1.2.3.4", 80);
	size_t i;

	CHECK(matches("*", "10.0.0.1", 80) == 1);
	CHECK(matches("*", "10.0.0.1", 0) == 0);
	CHECK(matches(":80", "10.0.0.1", 80) == 1);
	CHECK(matches(":80", "::1", 80) == 1);
	CHECK(matches(":80", "10.0.0.1", 81) == 0);
	CHECK(matches("10.0.0.1:80", "10.0.0.1", 80) == 1);
	CHECK(matches("10.0.0.1:80", "10.0.0.2", 80) == 0);
	CHECK(matches("10.0.0.1:*", "10.0.0.1", 9999) == 1);
	CHECK(matches("[::1]:80", "::1", 80) == 1);
	CHECK(matches("[::1]:80", "127.0.0.1", 80) == 0);
	CHECK(matches("[::1]:*", "::1", 1) == 1);
	CHECK(matches("127.0.0.1:80", "::ffff:127.0.0.1", 80) == 1);
	CHECK(matches("[::ffff:127.0.0.1]:80", "127.0.0.1", 80) == 1);
	CHECK(matches(" :81 , 10.0.0.1:80 ", "10.0.0.1", 80) == 1);
	CHECK(matches("0.0.0.0:80", "10.0.0.1", 80) == 0); /* literal, not a wildcard */
	CHECK(entries("") == 0);
	CHECK(entries(",,, ,") == 0);
	CHECK(entries("bogus") == 0);
	CHECK(entries(":0") == 0);
	CHECK(entries(":65536") == 0);
	CHECK(entries(":65535") == 1);
	CHECK(entries(":-1") == 0);
	CHECK(entries(":8o") == 0);
	CHECK(entries("1.2.3.4:") == 0);
	CHECK(entries("1.2.3:80") == 0);
	CHECK(entries("localhost:80") == 0);
	CHECK(entries("::1:80") == 0);
	CHECK(entries("[::1]") == 0);
	CHECK(entries("[::1]80") == 0);
	CHECK(entries("[::1:80") == 0);
	CHECK(entries("[fe80::1%lo]:80") == 0);
	CHECK(entries("[1.2.3.4]:80") == 0);
	CHECK(entries("*,:1,1.2.3.4:2,[::1]:3,1.2.3.4:*,[::]:*") == 6);
	/* Too long entries, too many entries. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(entries(big) == 0);
	for (i = 0; i + 3 < sizeof(big); i += 3)
		memcpy(big + i, ":1,", 3);
	big[i] = '\0';
	CHECK(entries(big) == FILTER_MAX);
	/* Short and foreign addresses are not interpreted. */
	CHECK(inaddr_from_sockaddr(&a, (struct sockaddr *)&s4, sizeof(s4) - 1) == -1);
	CHECK(inaddr_from_sockaddr(&a, NULL, 0) == -1);
	CHECK(inaddr_from_sockaddr(&a, (struct sockaddr *)&(struct sockaddr_un){.sun_family = AF_UNIX},
				   sizeof(struct sockaddr_un)) == -1);
}
#endif

/* ---- the driver ------------------------------------------------------------- */

/* A socket bound and, for listeners, listening like shardinit's, moved
 * to fd 100+ so that fds 3.. are free for the worker. */
static int make_socket(int family, int type, const char *host, int v6only, int reuseport,
		       int do_listen, int *port)
{
	static int next_fd = 100;
	int s = socket(family, type, 0), one = 1, high;

	if (s < 0)
		return -1;
	if (reuseport)
		setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	if ((family == AF_INET6 ? bind6(s, host, 0) : bind4(s, host, 0)) < 0 ||
	    (do_listen && listen(s, 77) < 0)) {
		close(s);
		return -1;
	}
	*port = local_port(s);
	high = fcntl(s, F_DUPFD_CLOEXEC, next_fd++);
	close(s);
	return high;
}

/* A port nobody uses right now, for the filter tests. */
static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), p;
	bind4(s, "127.0.0.1", 0);
	p = local_port(s);
	close(s);
	return p;
}

static char self[4096];

/* Runs `self MODE args...` with fds[] as 3.., env as given, stderr into
 * errfile. Returns the exit status (or 128+signal). */
static int run_worker(const char *mode, const int *fds, int nfds, const char *listen_pid,
		      char **args, char *const *env, const char *errfile)
{
	pid_t pid = fork();
	int status, i;

	if (pid == 0) {
		char pidbuf[32], *argv[16];
		int n = 0, err = open(errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		/* stderr first: err may well be fd 3, which the listeners take. */
		if (err >= 0)
			dup2(err, 2);
		for (i = 0; i < nfds; i++)
			dup2(fds[i], 3 + i); /* dup2 clears close-on-exec */
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
		setenv("LISTEN_PID", listen_pid ? listen_pid : pidbuf, 1);
		for (i = 0; env[i] != NULL; i += 2)
			setenv(env[i], env[i + 1], 1);
		argv[n++] = self;
		argv[n++] = (char *)mode;
		for (i = 0; args[i] != NULL && n < 15; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		execv(self, argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 255;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Copies errfile to stderr (sanitizer and valgrind reports land there)
 * and says whether it contains the shim's prefix. */
static int relay(const char *errfile)
{
	char line[1024];
	int shim_lines = 0;
	FILE *f = fopen(errfile, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "shardinit-shim: ", 16) == 0)
			shim_lines++;
		else
			fprintf(stderr, "  | %s", line);
	}
	fclose(f);
	return shim_lines;
}

/* Runs a worker (run_worker) and prints one "ok" or "FAIL" line: what (a
 * printf format), its exit status and how many shim lines it printed. It
 * passes when it exits 0 having printed min_lines to max_lines of them.
 * Returns 1 when it failed. */
__attribute__((format(printf, 10, 11)))
static int expect(const char *dir, const char *mode, const int *fds, int nfds,
		  const char *listen_pid, char **args, char *const *env, int min_lines,
		  int max_lines, const char *what, ...)
{
	static int runs;
	char errfile[4200];
	int rc, lines, ok;
	va_list ap;

	snprintf(errfile, sizeof(errfile), "%s/%d-%s.err", dir, ++runs, mode);
	rc = run_worker(mode, fds, nfds, listen_pid, args, env, errfile);
	lines = relay(errfile);
	ok = rc == 0 && lines >= min_lines && lines <= max_lines;
	printf("%s - ", ok ? "ok  " : "FAIL");
	va_start(ap, what);
	vprintf(what, ap);
	va_end(ap);
	printf(" (exit %d, %d shim lines on stderr)\n", rc, lines);
	return !ok;
}

static int driver(const char *dir)
{
	int fds[7], ports[7] = {0}, i, bad = 0;
	char pbuf[7][16], *pargs[8];
	char fa[16], fb[16], fc[16], fd_[16], reuseport[96], reuseaddr[32], devfilter[32];
	char *fargs[] = {fa, fb, fc, fd_, NULL};

	fds[0] = make_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 1, 1, &ports[0]);
	fds[1] = make_socket(AF_INET6, SOCK_STREAM, "::", 0, 1, 1, &ports[1]);
	fds[2] = make_socket(AF_INET6, SOCK_STREAM, "::1", 1, 1, 1, &ports[2]);
	fds[3] = make_socket(AF_INET, SOCK_STREAM, "0.0.0.0", 0, 1, 1, &ports[3]);
	fds[4] = make_socket(AF_INET6, SOCK_STREAM, "::", 1, 1, 1, &ports[4]);
	fds[5] = make_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0, 0, 0, &ports[5]);
	fds[6] = make_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, 0, 0, &ports[6]);
	if (fds[0] < 0 || fds[3] < 0 || fds[5] < 0 || fds[6] < 0) {
		fprintf(stderr, "FAIL: cannot bind the test listeners\n");
		return 1;
	}
	if (fds[1] < 0 || fds[2] < 0 || fds[4] < 0)
		printf("note: no IPv6 on this machine, IPv6 cases skipped\n");
	for (i = 0; i < 7; i++) {
		snprintf(pbuf[i], sizeof(pbuf[i]), "%d", fds[i] < 0 ? 0 : ports[i]);
		pargs[i] = pbuf[i];
		if (fds[i] < 0) /* keep fd numbering: any open non-listener will do */
			fds[i] = fds[5];
	}
	pargs[7] = NULL;

	bad |= expect(dir, "handover", fds, 7, NULL, pargs,
		      (char *[]){"LISTEN_FDS", "7", "LISTEN_FDNAMES", "a:b:c:d:e:f:g",
				 "SHARDINIT_SHIM_DEBUG", "1", NULL},
		      1, INT_MAX, "hand-over, pass-through, UDP/unix, wildcards, dup, %d threads", THREADS);
	bad |= expect(dir, "many", fds, 7, NULL, pargs, (char *[]){"LISTEN_FDS", "1000", NULL}, 0, 0,
		      "LISTEN_FDS=1000 with 7 open: fd 3 still handed over, nothing printed");
	bad |= expect(dir, "foreign", fds, 7, "1", pargs, (char *[]){"LISTEN_FDS", "7", NULL}, 0, 0,
		      "LISTEN_PID of another process: nothing handed over");
	snprintf(fa, sizeof(fa), "%d", free_port());
	snprintf(fb, sizeof(fb), "%d", free_port());
	snprintf(fc, sizeof(fc), "%d", free_port());
	snprintf(fd_, sizeof(fd_), "%d", free_port());
	snprintf(reuseport, sizeof(reuseport), ":%s,[::1]:*,bogus,127.0.0.1:99999,::1:80", fa);
	snprintf(reuseaddr, sizeof(reuseaddr), "127.0.0.1:%s", fb);
	snprintf(devfilter, sizeof(devfilter), ":%s", fc);
	for (i = 0; i < 2; i++) {
		char *env[] = {"SHARDINIT_SHIM_REUSEPORT", reuseport, "SHARDINIT_SHIM_REUSEADDR", reuseaddr,
			       "SHARDINIT_SHIM_BINDTODEVICE", "lo",
			       "SHARDINIT_SHIM_BINDTODEVICE_FILTER", devfilter,
			       "SHARDINIT_SHIM_DEBUG", i ? "1" : "", NULL};
		/* Three bad entries: reported under DEBUG=1, silent otherwise. */
		bad |= expect(dir, "filters", fds, 0, NULL, fargs, env, i ? 3 : 0, i ? INT_MAX : 0,
			      "filters (REUSEPORT, REUSEADDR, BINDTODEVICE), DEBUG=%s", i ? "1" : "unset");
	}
	for (i = 0; i < 7; i++)
		close(fds[i]);
	return bad;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "driver") != 0) {
		alarm(300); /* bounded even under valgrind */
		if (argc == 9 && strcmp(argv[1], "handover") == 0 && parse_ports(argv + 2))
			worker_handover();
		else if (argc == 9 && strcmp(argv[1], "many") == 0 && parse_ports(argv + 2))
			worker_many();
		else if (argc == 9 && strcmp(argv[1], "foreign") == 0 && parse_ports(argv + 2))
			worker_foreign();
		else if (argc == 6 && strcmp(argv[1], "filters") == 0)
			worker_filters(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
		else
			CHECK(!"usage: test_shim [driver DIR]");
		if (failures)
			fprintf(stderr, "%s: %d of %d checks failed\n", argv[1], failures, checks);
		return failures ? 1 : 0;
	}
	/* argv[0], not /proc/self/exe: under valgrind that is valgrind. */
	if (realpath(argv[0], self) == NULL)
		return 2;
#ifdef SHIM_LINKED
	unit_filters();
	printf("%s - filter parser and address helpers (%d checks)\n", failures ? "FAIL" : "ok  ",
	       checks);
	if (failures)
		return 1;
#endif
	return driver(argc >= 3 ? argv[2] : "/tmp");
}
