/* Socket addresses as the shim compares them, the address filters of the
 * SHARDINIT_SHIM_* variables, and the one number parser of the shim.
 * Internal to the shim: nothing here is exported from the shared library. */
#ifndef SHARDINIT_SHIM_FILTER_H
#define SHARDINIT_SHIM_FILTER_H

#include <stdint.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 address and port, normalised so that an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d, what Java and other dual-stack programs bind)
 * compares equal to the IPv4 address it stands for. */
struct inaddr {
	int family;         /* AF_INET (addr[0..3] used) or AF_INET6 */
	uint16_t port;      /* host byte order */
	unsigned char addr[16];
};

/* Fills *out from a bind() argument. Returns 0, or -1 when the address is
 * not AF_INET/AF_INET6 or addrlen is too short to hold one. */
int inaddr_from_sockaddr(struct inaddr *out, const struct sockaddr *sa, socklen_t len);
int inaddr_is_wildcard(const struct inaddr *a);
int inaddr_same_host(const struct inaddr *a, const struct inaddr *b);
/* "127.0.0.1:8080" or "[::1]:8080" into buf (always NUL-terminated). */
void inaddr_format(const struct inaddr *a, char *buf, size_t size);

/* Strict decimal, for ports and the LISTEN_* variables: digits only (no
 * sign, no blanks, nothing after them), at most max. Returns 0 and sets
 * *out, or -1. */
int parse_decimal(const char *s, long max, long *out);

/* One entry of a filter list. */
enum filter_kind {
	FILTER_ANY,       /* *            */
	FILTER_PORT,      /* :PORT        */
	FILTER_HOST_PORT, /* HOST:PORT, [HOST]:PORT */
	FILTER_HOST       /* HOST:*, [HOST]:*       */
};

struct filter_entry {
	enum filter_kind kind;
	struct inaddr host; /* port unused for FILTER_HOST */
	uint16_t port;
};

/* Fixed size so that matching never allocates; longer lists are cut (and
 * reported under SHARDINIT_SHIM_DEBUG). */
#define FILTER_MAX 32

struct filter {
	int n;
	struct filter_entry e[FILTER_MAX];
};

/* Parses a comma-separated list into *f. Entries that do not parse are
 * skipped and reported through shim_log(); the valid ones are kept.
 * name is the variable's name, for those reports. */
void filter_parse(struct filter *f, const char *name, const char *spec);

/* Whether a matches any entry. Port 0 (an ephemeral port: a client socket)
 * matches nothing, not even "*". */
int filter_match(const struct filter *f, const struct inaddr *a);

/* Writes "shardinit-shim: <message>\n" on stderr when SHARDINIT_SHIM_DEBUG
 * is set; nothing otherwise. Keeps errno. Defined in preload.c. */
void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
