/* libshardinit_preload.so: lets a program that binds its own listening
 * socket (python -m http.server, node, nginx, ...) use the socket shardinit
 * bound for it instead.
 *
 * shardinit starts each worker with LD_PRELOAD pointing at this library
 * and with its listening sockets as fds 3.. (systemd's LISTEN_FDS
 * protocol). When the program bind()s a TCP socket to an address one of
 * those sockets is bound to, bind() puts the inherited socket on the
 * program's fd (dup3) and succeeds without binding anything; the program's
 * later listen() on it succeeds without touching the backlog shardinit
 * chose. Every other bind() goes to the C library, after the optional
 * SO_REUSEPORT / SO_REUSEADDR / SO_BINDTODEVICE of the SHARDINIT_SHIM_*
 * variables (what libreuseport does).
 *
 * Only bind and listen are exported. All state is written once, by the
 * constructor (or by the first bind/listen if something calls them before
 * the constructor ran), under pthread_once; afterwards it is read-only, so
 * the interposed functions need no lock and never allocate. */
#define _GNU_SOURCE
#include "filter.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* One build of this library (shardinit embeds it, compiled on a recent
 * glibc) is loaded into workers of any image. glibc 2.34 gave dlsym and
 * pthread_once new symbol versions when it moved them into libc, and 2.33
 * added an fstat symbol; a library that asks for those does not even load
 * on an older glibc, and takes its worker down. Ask for the versions every
 * glibc has (the Makefile links libdl.so.2 and libpthread.so.0, where an
 * old glibc keeps them), and make fstat a system call. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
#if defined(__x86_64__)
#define GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define GLIBC_BASE "GLIBC_2.17"
#endif
#ifdef GLIBC_BASE
__asm__(".symver dlsym,dlsym@" GLIBC_BASE);
__asm__(".symver pthread_once,pthread_once@" GLIBC_BASE);
#endif
#endif

/* On these the kernel's struct stat is glibc's (and we read only st_mode,
 * st_dev and st_ino). */
static int fstat_fd(int fd, struct stat *st)
{
#if defined(__x86_64__) || defined(__aarch64__)
	return (int)syscall(SYS_fstat, fd, st);
#else
	return fstat(fd, st);
#endif
}

/* The systemd protocol starts the inherited fds at 3. */
#define LISTEN_FDS_START 3
/* More listeners than this in one worker are ignored (and reported). */
#define MAX_LISTENERS 64

struct listener {
	int fd;
	struct inaddr addr;
	int dualstack; /* an AF_INET6 wildcard with IPV6_V6ONLY=0 */
	dev_t dev;     /* identity of the socket: a closed and reused fd */
	ino_t ino;     /* number is not the same socket any more */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int (*real_bind)(int, const struct sockaddr *, socklen_t);
static int (*real_listen)(int, int);
static int debug;

static struct listener listeners[MAX_LISTENERS];
static int n_listeners;

static struct filter reuseport_filter, reuseaddr_filter, device_filter;
static char device[IFNAMSIZ]; /* empty: no SO_BINDTODEVICE */

/* ---- logging ------------------------------------------------------------ */

void shim_log(const char *fmt, ...)
{
	static const char prefix[] = "shardinit-shim: ";
	char buf[512];
	size_t len = sizeof(prefix) - 1;
	int saved = errno;
	va_list ap;
	int n;

	if (!debug)
		return;
	memcpy(buf, prefix, len);
	va_start(ap, fmt);
	n = vsnprintf(buf + len, sizeof(buf) - len - 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		len += (size_t)n < sizeof(buf) - len - 1 ? (size_t)n : sizeof(buf) - len - 2;
	buf[len++] = '\n';
	/* One write() per line so that lines from threads do not interleave;
	 * a short or failed write to stderr is not worth retrying. */
	if (write(STDERR_FILENO, buf, len) < 0) {
	}
	errno = saved;
}

/* strerror() is not thread-safe; strerror_r comes in two flavours. */
static const char *errstr(int err, char *buf, size_t size)
{
#ifdef __GLIBC__
	return strerror_r(err, buf, size);
#else
	return strerror_r(err, buf, size) == 0 ? buf : "unknown error";
#endif
}

/* ---- the real functions ------------------------------------------------- */

/* Used when dlsym finds no next definition (a static C library, an unusual
 * link order): the system calls themselves. */
static int sys_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	return (int)syscall(SYS_bind, fd, sa, len);
}

static int sys_listen(int fd, int backlog)
{
	return (int)syscall(SYS_listen, fd, backlog);
}

static void resolve_real_functions(void)
{
	/* dlsym returns void *; going through memcpy avoids the pedantic
	 * object-to-function pointer conversion warning. */
	void *b = dlsym(RTLD_NEXT, "bind");
	void *l = dlsym(RTLD_NEXT, "listen");

	real_bind = sys_bind;
	real_listen = sys_listen;
	if (b != NULL)
		memcpy(&real_bind, &b, sizeof(b));
	if (l != NULL)
		memcpy(&real_listen, &l, sizeof(l));
}

/* ---- the inherited listeners -------------------------------------------- */

static int get_int_opt(int fd, int level, int name, int *value)
{
	socklen_t len = sizeof(*value);
	return getsockopt(fd, level, name, value, &len);
}

/* Records fd if it is a listening TCP socket on an IPv4/IPv6 address. */
static void inspect_inherited(int fd)
{
	struct listener *l = &listeners[n_listeners];
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0, accepting = 0, v6only = 1;
	struct stat st;
	char where[64];

	if (get_int_opt(fd, SOL_SOCKET, SO_TYPE, &type) < 0 || type != SOCK_STREAM ||
	    get_int_opt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting) < 0 || accepting != 1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    inaddr_from_sockaddr(&l->addr, (struct sockaddr *)&ss, len) < 0 ||
	    fstat_fd(fd, &st) < 0) {
		shim_log("fd %d: not a listening TCP/IP socket, not handed over", fd);
		return;
	}
	if (l->addr.family == AF_INET6 && inaddr_is_wildcard(&l->addr))
		get_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only);
	l->fd = fd;
	l->dualstack = l->addr.family == AF_INET6 && v6only == 0;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	n_listeners++;
	inaddr_format(&l->addr, where, sizeof(where));
	shim_log("fd %d: will hand over %s%s", fd, where, l->dualstack ? " (dual-stack)" : "");
}

/* LISTEN_PID must name this very process: a child that inherited the
 * environment but not the intent (a shell's subprocess) takes nothing. */
static void inherit_listeners(void)
{
	const char *pid_s = getenv("LISTEN_PID");
	const char *fds_s = getenv("LISTEN_FDS");
	long pid, n, i;

	if (pid_s == NULL || fds_s == NULL)
		return;
	if (parse_decimal(pid_s, 0x7fffffffL, &pid) < 0 || pid != (long)getpid())
		return;
	if (parse_decimal(fds_s, 0x7fffffffL, &n) < 0) {
		shim_log("LISTEN_FDS=\"%s\" is not a number", fds_s);
		return;
	}
	if (n > MAX_LISTENERS) {
		shim_log("LISTEN_FDS=%ld: only the first %d are handed over", n, MAX_LISTENERS);
		n = MAX_LISTENERS;
	}
	for (i = 0; i < n; i++)
		inspect_inherited(LISTEN_FDS_START + (int)i);
}

/* ---- configuration ------------------------------------------------------ */

static void parse_filter_var(struct filter *f, const char *name, const char *fallback)
{
	const char *spec = getenv(name);

	if (spec == NULL || *spec == '\0')
		spec = fallback;
	if (spec != NULL)
		filter_parse(f, name, spec);
}

static void parse_device(void)
{
	const char *dev = getenv("SHARDINIT_SHIM_BINDTODEVICE");

	if (dev == NULL || *dev == '\0')
		return;
	if (strlen(dev) >= sizeof(device)) {
		shim_log("SHARDINIT_SHIM_BINDTODEVICE=\"%s\": interface names have at most %d characters",
			 dev, (int)sizeof(device) - 1);
		return;
	}
	strcpy(device, dev);
	parse_filter_var(&device_filter, "SHARDINIT_SHIM_BINDTODEVICE_FILTER", "*");
}

static void init(void)
{
	const char *d = getenv("SHARDINIT_SHIM_DEBUG");

	debug = d != NULL && *d != '\0' && strcmp(d, "0") != 0;
	resolve_real_functions();
	inherit_listeners();
	parse_filter_var(&reuseport_filter, "SHARDINIT_SHIM_REUSEPORT", NULL);
	parse_filter_var(&reuseaddr_filter, "SHARDINIT_SHIM_REUSEADDR", NULL);
	parse_device();
}

static void shim_init(void)
{
	pthread_once(&init_once, init);
}

__attribute__((constructor)) static void shim_constructor(void)
{
	int saved = errno;
	shim_init();
	errno = saved;
}

/* ---- hand-over ------------------------------------------------------------ */

/* How well listener l serves a bind to want: 0 not at all; 2 a wildcard of
 * the other family; 3 the same family and address. */
static int match_score(const struct listener *l, const struct inaddr *want)
{
	int want_any = inaddr_is_wildcard(want);

	if (l->addr.port != want->port)
		return 0;
	if (!want_any)
		return inaddr_same_host(&l->addr, want) ? 3 : 0;
	if (!inaddr_is_wildcard(&l->addr))
		return 0;
	if (l->addr.family == want->family)
		return 3;
	/* [::] wanted, 0.0.0.0 inherited: the program gets IPv4 only, which
	 * is what shardinit chose. 0.0.0.0 wanted: only a dual-stack [::]
	 * also accepts IPv4. */
	return want->family == AF_INET6 || l->dualstack ? 2 : 0;
}

static const struct listener *find_listener(const struct inaddr *want)
{
	const struct listener *best = NULL;
	int best_score = 0, i;

	for (i = 0; i < n_listeners; i++) {
		int s = match_score(&listeners[i], want);
		if (s > best_score) {
			best = &listeners[i];
			best_score = s;
		}
	}
	return best;
}

static int is_inherited(const struct stat *st)
{
	int i;

	if (!S_ISSOCK(st->st_mode))
		return 0;
	for (i = 0; i < n_listeners; i++)
		if (listeners[i].dev == st->st_dev && listeners[i].ino == st->st_ino)
			return 1;
	return 0;
}

/* Whether fd is a TCP socket of the address's family that is not bound
 * yet (and not already a shard socket): anything else — UDP, SCTP, a
 * second bind, an address of the wrong family — goes to the real bind,
 * which answers it as it always would. */
static int is_fresh_tcp_socket(int fd, int family)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int domain = 0, type = 0, protocol = 0;
	struct stat st;

	if (fstat_fd(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || is_inherited(&st))
		return 0;
	if (get_int_opt(fd, SOL_SOCKET, SO_DOMAIN, &domain) < 0 || domain != family ||
	    get_int_opt(fd, SOL_SOCKET, SO_TYPE, &type) < 0 || type != SOCK_STREAM ||
	    get_int_opt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol) < 0 || protocol != IPPROTO_TCP)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ((struct sockaddr_in *)&ss)->sin_port == 0;
	if (ss.ss_family == AF_INET6)
		return ((struct sockaddr_in6 *)&ss)->sin6_port == 0;
	return 0;
}

/* The program may have closed fd 3 and reused the number. */
static int still_inherited(const struct listener *l)
{
	struct stat st;
	return fstat_fd(l->fd, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino;
}

/* O_NONBLOCK belongs to the open file description, which the program now
 * shares with shardinit: give it the mode the program's own socket had
 * (node and nginx expect non-blocking accept(), python a blocking one). */
static void keep_nonblock(int fd, int wanted_flags, const char *where)
{
	int flags = fcntl(fd, F_GETFL);
	char e[128];

	if (flags < 0 || ((flags ^ wanted_flags) & O_NONBLOCK) == 0)
		return;
	if (fcntl(fd, F_SETFL, (flags & ~O_NONBLOCK) | (wanted_flags & O_NONBLOCK)) < 0)
		shim_log("bind(fd %d, %s): setting O_NONBLOCK as the program had it: %s",
			 fd, where, errstr(errno, e, sizeof(e)));
}

/* Puts the inherited socket on fd. Returns 0 when done, -1 when bind()
 * must go to the C library. */
static int hand_over(int fd, const struct inaddr *want, int family)
{
	const struct listener *l = find_listener(want);
	int fd_flags, fl_flags;
	char where[64], e[128];

	if (l == NULL || !is_fresh_tcp_socket(fd, family))
		return -1;
	inaddr_format(want, where, sizeof(where));
	if (!still_inherited(l)) {
		shim_log("bind(fd %d, %s): inherited fd %d was closed by the program, not handed over",
			 fd, where, l->fd);
		return -1;
	}
	fd_flags = fcntl(fd, F_GETFD);
	fl_flags = fcntl(fd, F_GETFL);
	if (fd_flags < 0 || fl_flags < 0)
		return -1;
	/* dup3, not dup2: the program's fd keeps its own close-on-exec. */
	if (dup3(l->fd, fd, (fd_flags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		shim_log("bind(fd %d, %s): dup3(%d, %d): %s", fd, where, l->fd, fd,
			 errstr(errno, e, sizeof(e)));
		return -1;
	}
	keep_nonblock(fd, fl_flags, where);
	shim_log("bind(fd %d, %s): handed over inherited fd %d", fd, where, l->fd);
	return 0;
}

/* ---- libreuseport ---------------------------------------------------------- */

static void set_opt(int fd, int name, const char *opt, const void *val, socklen_t len,
		    const char *where)
{
	char e[128];

	if (setsockopt(fd, SOL_SOCKET, name, val, len) < 0)
		shim_log("setsockopt(fd %d, %s) before bind(%s): %s", fd, opt, where,
			 errstr(errno, e, sizeof(e)));
}

static void apply_filters(int fd, const struct inaddr *a)
{
	static const int one = 1;
	int reuseport = filter_match(&reuseport_filter, a);
	int reuseaddr = filter_match(&reuseaddr_filter, a);
	int bindtodevice = device[0] != '\0' && filter_match(&device_filter, a);
	char where[64];

	if (!reuseport && !reuseaddr && !bindtodevice)
		return;
	inaddr_format(a, where, sizeof(where));
	if (reuseport)
		set_opt(fd, SO_REUSEPORT, "SO_REUSEPORT", &one, sizeof(one), where);
	if (reuseaddr)
		set_opt(fd, SO_REUSEADDR, "SO_REUSEADDR", &one, sizeof(one), where);
	if (bindtodevice)
		set_opt(fd, SO_BINDTODEVICE, "SO_BINDTODEVICE", device,
			(socklen_t)strlen(device), where);
}

/* ---- the interposed functions --------------------------------------------- */

EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int saved = errno;
	struct inaddr a;

	shim_init();
	/* Port 0 is an ephemeral port (a client socket): never ours. */
	if (inaddr_from_sockaddr(&a, addr, len) == 0 && a.port != 0) {
		if (n_listeners > 0 && hand_over(fd, &a, addr->sa_family) == 0) {
			errno = saved;
			return 0;
		}
		apply_filters(fd, &a);
	}
	errno = saved;
	return real_bind(fd, addr, len);
}

EXPORT int listen(int fd, int backlog)
{
	shim_init();
	if (n_listeners > 0) {
		int saved = errno;
		struct stat st;

		/* Identity, not a table of handed-over fd numbers: it stays right
		 * whatever the program does with its fds (dup, dup2, close,
		 * close_range, fork) and costs one fstat in a rare call. */
		if (fstat_fd(fd, &st) == 0 && is_inherited(&st)) {
			shim_log("listen(fd %d, %d): shard socket, keeping shardinit's backlog",
				 fd, backlog);
			errno = saved;
			return 0;
		}
		errno = saved;
	}
	return real_listen(fd, backlog);
}
