/*
 * notify-listen.c - stands in for systemd's notify socket in the sd_notify
 * tests (t0430): binds a unix datagram socket at SOCKET (a path, or
 * '@NAME' for an abstract name, as in NOTIFY_SOCKET) and appends every
 * datagram it receives to OUT, each followed by a line "--", so that a
 * test sees exactly what was sent and in which order.  It prints "bound"
 * on stdout once the socket exists, and exits after a datagram holding
 * the line STOPPING=1, or after SECONDS (default 60) with status 1.
 *
 *	notify-listen SOCKET OUT [SECONDS]
 */
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sa;
	struct pollfd p;
	char msg[4096];
	size_t len;
	ssize_t n;
	FILE *out;
	time_t end;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: notify-listen SOCKET OUT [SECONDS]\n");
		return 2;
	}
	end = time(NULL) + (argc > 3 ? atoi(argv[3]) : 60);
	len = strlen(argv[1]);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (len < 2 || len >= sizeof(sa.sun_path)) {
		fprintf(stderr, "notify-listen: bad socket name\n");
		return 2;
	}
	memcpy(sa.sun_path, argv[1], len);
	if (argv[1][0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 ||
	    bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
			     (argv[1][0] != '@'))) < 0) {
		perror("notify-listen: bind");
		return 2;
	}
	out = fopen(argv[2], "a");
	if (!out) {
		perror("notify-listen: open");
		return 2;
	}
	printf("bound\n");
	fflush(stdout);
	p.fd = fd;
	p.events = POLLIN;
	while (time(NULL) < end) {
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recv(fd, msg, sizeof(msg) - 1, 0);
		if (n < 0)
			continue;
		msg[n] = '\0';
		fprintf(out, "%s\n--\n", msg);
		fflush(out);
		if (!strncmp(msg, "STOPPING=1", 10) ||
		    strstr(msg, "\nSTOPPING=1"))
			return 0;
	}
	return 1;
}
