/*
 * swarm-frame.c - the swarm runner's way out of a task (see swarm.c): the
 * wrapper's epilogue that writes the frame of the run's outputs on the
 * task's stdout, its cutting out of the log stream, and its decoding into
 * stored files, stored env and .display.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box.h"
#include "swarm-int.h"

static void
frame_add(struct swarm_frame *f, const char *data, size_t len)
{
	if (f->big)
		return;
	if (f->data.len + len > SWARM_FRAME_MAX) {
		f->big = true;
		return;
	}
	buf_add(&f->data, data, len);
}

void
swarm_frame_init(struct swarm_frame *f, const char *instance, int64_t run_id)
{
	struct buf p = BUF_INIT;
	char hash[SHA256_HEX_LEN + 1];

	memset(f, 0, sizeof(*f));
	buf_init(&f->hold);
	buf_init(&f->data);
	buf_addf(&p, "scaffold frame %s %lld", instance, (long long)run_id);
	sha256_hex(hash, p.ptr, p.len);
	snprintf(f->mark, sizeof(f->mark), "@@scaffold-%.40s", hash);
	buf_release(&p);
}

void
swarm_frame_release(struct swarm_frame *f)
{
	buf_release(&f->hold);
	buf_release(&f->data);
}

void
swarm_frame_flush(struct swarm_frame *f, swarm_out_fn out, void *arg)
{
	if (f->state == 0 && f->hold.len) {
		out(arg, f->hold.ptr, f->hold.len);
		buf_reset(&f->hold);
	}
}

bool
swarm_frame_find(struct swarm_frame *f, const char *data, size_t len)
{
	char begin[96], end[96];
	const char *b, *e;

	if (f->state == 2)
		return true;
	snprintf(begin, sizeof(begin), "%s begin\n", f->mark);
	snprintf(end, sizeof(end), "%s end\n", f->mark);
	b = memmem(data, len, begin, strlen(begin));
	e = b ? memmem(b, len - (size_t)(b - data), end, strlen(end)) : NULL;
	if (!b || !e)
		return false;
	buf_reset(&f->data);
	f->big = false;
	b += strlen(begin);
	frame_add(f, b, (size_t)(e - b));
	f->state = 2;
	return true;
}

/*
 * The epilogue of the wrapper: the frame, on the stdout saved as fd 7.
 * $1 is the exit status.
 */
void
swarm_frame_epilogue(struct buf *w, const struct swarm_frame *f,
		     const struct strvec *store_files,
		     const struct strvec *store_env)
{
	struct buf np = BUF_INIT;
	const char *p;
	size_t i;

	buf_addf(w, "\t{\n\tcommand printf '%%s begin\\nx %%s\\n' '%s' \"$1\"\n",
		 f->mark);
	buf_puts(w, "\tif [ \"$1\" -eq 0 ] && cd " BOX_RUN_DIR "; then\n");
	for (i = 0; i < store_files->n; i++) {
		runner_norm_path(&np, store_files->v[i]);
		buf_addf(w, "\t\t__scaffold_out %zu ", i);
		runner_sh_quote(w, np.ptr, np.len);
		/* every directory on the way must not be a symlink */
		for (p = strchr(np.ptr, '/'); p; p = strchr(p + 1, '/')) {
			buf_putc(w, ' ');
			runner_sh_quote(w, np.ptr, (size_t)(p - np.ptr));
		}
		buf_putc(w, '\n');
	}
	for (i = 0; i < store_env->n; i++)
		buf_addf(w,
			 "\t\tif [ -f " BOX_META_DIR "/env/%s ]; then "
			 "echo 'e %zu'; od -An -v -tx1 <" BOX_META_DIR
			 "/env/%s; fi\n",
			 store_env->v[i], i, store_env->v[i]);
	if (runner_display_wanted(store_files))
		buf_puts(w, "\t\tif [ -f " RUN_DISPLAY_FILE " ] && [ ! -h "
			    RUN_DISPLAY_FILE " ]; then echo d; od -An -v "
			    "-tx1 <" RUN_DISPLAY_FILE "; fi\n");
	buf_addf(w, "\tfi\n\tcommand printf '%%s end\\n' '%s'\n\t} >&7\n",
		 f->mark);
	buf_release(&np);
}

/* The wrapper's helper for one store file: "f N" and its hex, "l N" (a
 * symlink on the way), "n N" (missing). */
const char swarm_frame_out_fn[] =
	"__scaffold_out() {\n"
	"\t__scaffold_i=$1; __scaffold_f=$2; shift 2\n"
	"\tfor __scaffold_d in \"$__scaffold_f\" \"$@\"; do\n"
	"\t\tif [ -h \"$__scaffold_d\" ]; then echo \"l $__scaffold_i\"; "
	"return 0; fi\n"
	"\tdone\n"
	"\tif [ -f \"$__scaffold_f\" ]; then echo \"f $__scaffold_i\"; "
	"od -An -v -tx1 <\"$__scaffold_f\"; else echo \"n $__scaffold_i\"; "
	"fi\n"
	"}\n"
	"exec 7>&1\n";

static void
hold_cut(struct buf *b, size_t len)
{
	b->len = len;
	b->ptr[len] = '\0';
}

/* The longest tail of data that is a start of mark (held back). */
static size_t
mark_tail(const char *data, size_t len, const char *mark)
{
	size_t ml = strlen(mark), k;

	for (k = len < ml - 1 ? len : ml - 1; k > 0; k--)
		if (!memcmp(data + len - k, mark, k))
			return k;
	return 0;
}

void
swarm_frame_feed(struct swarm_frame *f, const char *data, size_t len,
		 swarm_out_fn out, void *arg)
{
	char begin[96], end[96];
	size_t bl, el, keep;
	const char *m;

	snprintf(begin, sizeof(begin), "%s begin\n", f->mark);
	snprintf(end, sizeof(end), "%s end\n", f->mark);
	bl = strlen(begin);
	el = strlen(end);
	buf_add(&f->hold, data, len);
	for (;;) {
		if (f->state == 2) {
			out(arg, f->hold.ptr, f->hold.len);
			buf_reset(&f->hold);
			return;
		}
		m = memmem(f->hold.ptr, f->hold.len, f->state ? end : begin,
			   f->state ? el : bl);
		if (m) {
			if (!f->state)
				out(arg, f->hold.ptr,
				       (size_t)(m - f->hold.ptr));
			else
				frame_add(f, f->hold.ptr,
					  (size_t)(m - f->hold.ptr));
			m += f->state ? el : bl;
			f->state++;
			memmove(f->hold.ptr, m,
				f->hold.len - (size_t)(m - f->hold.ptr));
			hold_cut(&f->hold,
				 f->hold.len - (size_t)(m - f->hold.ptr));
			continue;
		}
		/* all but a tail that may start the mark */
		keep = mark_tail(f->hold.ptr, f->hold.len,
				 f->state ? end : begin);
		if (f->hold.len <= keep)
			return;
		if (!f->state)
			out(arg, f->hold.ptr, f->hold.len - keep);
		else
			frame_add(f, f->hold.ptr, f->hold.len - keep);
		memmove(f->hold.ptr, f->hold.ptr + f->hold.len - keep, keep);
		hold_cut(&f->hold, keep);
		return;
	}
}

/* Hex lines into raw bytes; -1 when not hex. */
static int
unhex(struct buf *out, const char *s, size_t len)
{
	int hi = -1, v;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return -1;
		if (hi < 0) {
			hi = v;
		} else {
			buf_putc(out, (char)(hi << 4 | v));
			hi = -1;
		}
	}
	return hi < 0 ? 0 : -1;
}

/* Write data to run_dir/name (its directories made). */
static int
write_out(const char *path, const char *data, size_t len)
{
	struct buf dir = BUF_INIT;
	const char *slash = strrchr(path, '/');
	int fd, ret = -1;

	buf_add(&dir, path, slash ? (size_t)(slash - path) : 0);
	if (dir.len && mkdir_p(dir.ptr, 0755) < 0)
		goto out;
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	if (fd < 0) {
		err_set("cannot create '%s': %s", path, strerror(errno));
		goto out;
	}
	if (runner_write_all(fd, data, len) < 0 || close(fd) < 0) {
		err_set("cannot write '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	ret = 0;
out:
	buf_release(&dir);
	return ret;
}

/* One output in the frame: its header and its hex lines. */
struct frame_part {
	char kind; /* 'f', 'n', 'l', 'e', 'd'; 0: not in the frame */
	const char *hex;
	size_t len;
};

/* The frame's parts by index, for runner_outputs_collect(). */
struct frame_out {
	const char *run_dir;
	struct frame_part *files; /* store_files->n + 1: .display last */
	struct frame_part *env;
};

static int
damaged(void)
{
	return err_set("the task's output frame is damaged");
}

static int
frame_out_file(void *arg, size_t i, const char *name, int64_t *total,
	       char **src)
{
	struct frame_out *fo = arg;
	const struct frame_part *part = &fo->files[i];
	struct buf val = BUF_INIT, e = BUF_INIT, np = BUF_INIT, dst = BUF_INIT;
	int ret = -1;

	switch (part->kind) {
	case 'n':
	case 0:
		ret = runner_outputs_check(name, RUNNER_PATH_MISSING, -1, 0);
		goto out;
	case 'l':
		ret = err_set("store file '%s' is a symlink or behind one",
			      runner_esc(&e, name));
		goto out;
	}
	if (unhex(&val, part->hex, part->len) < 0) {
		ret = damaged();
		goto out;
	}
	ret = runner_outputs_check(name, RUNNER_PATH_FILE, (int64_t)val.len,
				   *total);
	if (ret < 0)
		goto out;
	*total += (int64_t)val.len;
	runner_norm_path(&np, name);
	buf_addf(&dst, "%s/%s", fo->run_dir, np.ptr);
	if (write_out(dst.ptr, val.ptr, val.len) < 0) {
		ret = err_set("store file '%s': %s", runner_esc(&e, np.ptr),
			      err_msg());
		goto out;
	}
	*src = buf_detach(&dst, NULL);
out:
	buf_release(&val);
	buf_release(&e);
	buf_release(&np);
	buf_release(&dst);
	return ret;
}

static int
frame_out_env(void *arg, size_t i, const char *name, size_t max,
	      struct buf *val)
{
	struct frame_out *fo = arg;

	(void)name;
	(void)max;
	if (!fo->env[i].kind)
		return ERR_NOTFOUND;
	if (unhex(val, fo->env[i].hex, fo->env[i].len) < 0)
		return damaged();
	return 0;
}

/*
 * The frame's outputs into out (after success).  0, or 1 with
 * out->message set: the run fails (the files it wrote are removed).
 */
int
swarm_frame_collect(const struct swarm_frame *f,
		    const struct strvec *store_files,
		    const struct strvec *store_env, const char *run_dir,
		    struct run_result *out)
{
	struct frame_out fo = { run_dir, NULL, NULL };
	struct runner_outputs o = {
		.store_files = store_files,
		.store_env = store_env,
		.unlink_on_fail = true,
		.arg = &fo,
		.file = frame_out_file,
		.env = frame_out_env,
	};
	const char *p = f->data.ptr, *end = f->data.ptr + f->data.len;
	const char *nl, *data;
	struct frame_part *part;
	size_t *order, norder = 0, i;
	char kind;
	long idx;
	int ret = 1;

	if (f->big) {
		snprintf(out->message, sizeof(out->message),
			 "the run's stored files are larger than the swarm "
			 "runner carries (%zu MiB in all)",
			 SWARM_FRAME_MAX / 3 >> 20);
		return 1;
	}
	fo.files = xcalloc(store_files->n + 1, sizeof(*fo.files));
	fo.env = xcalloc(store_env->n + 1, sizeof(*fo.env));
	order = xcalloc(store_files->n + 1, sizeof(*order));
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		kind = *p;
		idx = strtol(p + 1, NULL, 10);
		p = nl < end ? nl + 1 : end;
		if (kind == 'x')
			continue;
		/* the data: the lines up to the next header */
		data = p;
		while (p < end && (*p == ' ' || *p == '\n'))
			p = (nl = memchr(p, '\n', (size_t)(end - p))) ?
				    nl + 1 :
				    end;
		part = NULL;
		if ((kind == 'f' || kind == 'n' || kind == 'l') && idx >= 0 &&
		    (size_t)idx < store_files->n) {
			part = &fo.files[idx];
			if (!part->kind)
				order[norder++] = (size_t)idx;
		} else if (kind == 'e' && idx >= 0 && (size_t)idx < store_env->n)
			part = &fo.env[idx];
		else if (kind == 'd')
			part = &fo.files[store_files->n];
		if (!part)
			continue;
		/* a part said twice: the last one counts */
		part->kind = kind;
		part->hex = data;
		part->len = (size_t)(p - data);
	}
	/* the files in the order the frame has them, then those it lacks */
	for (i = 0; i < store_files->n; i++)
		if (!fo.files[i].kind)
			order[norder++] = i;
	o.order = order;
	/* .display is not in the frame when the run wrote none */
	o.no_display = !fo.files[store_files->n].kind;
	ret = runner_outputs_collect(&o, out) ? 1 : 0;
	free(order);
	free(fo.files);
	free(fo.env);
	return ret;
}
