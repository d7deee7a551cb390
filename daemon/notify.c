/*
 * notify.c - systemd's readiness protocol, without libsystemd.
 *
 * Under a unit of Type=notify, systemd sets NOTIFY_SOCKET to a unix
 * datagram socket and waits for "READY=1" on it before it counts the
 * service as started (and before units ordered after it start).  The
 * protocol is one datagram of newline-separated VAR=VALUE lines, sent
 * to the path in NOTIFY_SOCKET, or to an abstract socket when the name
 * starts with '@' (the '@' stands for the leading NUL byte).  Without
 * NOTIFY_SOCKET nothing is sent: scaffold serve started by hand.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"

int
notify_send(const char *state)
{
	struct sockaddr_un sa;
	const char *path = getenv("NOTIFY_SOCKET");
	socklen_t salen;
	size_t len;
	ssize_t n;
	int fd = -1, ret = -1;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len > sizeof(sa.sun_path) - (path[0] == '/')) {
		err_set("NOTIFY_SOCKET '%s': not a socket path or an abstract "
			"socket name ('@NAME')",
			path);
		goto out;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	/* an abstract name is exactly its bytes: no terminating NUL */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
			    (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err_set("NOTIFY_SOCKET: cannot make a socket: %s",
			strerror(errno));
		goto out;
	}
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		   (struct sockaddr *)&sa, salen);
	if (n < 0) {
		err_set("NOTIFY_SOCKET '%s': %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}
