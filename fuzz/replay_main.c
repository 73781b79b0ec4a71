// SPDX-License-Identifier: Apache-2.0
/*
 * replay_main.c - plain main() for the replay_<target> binaries.
 *
 * Feeds every file named on the command line, and every regular file in every
 * directory named (one level, sorted by name for a stable order), to
 * LLVMFuzzerTestOneInput.  Each input runs in a forked child, so one failing
 * input (harness invariant, sanitizer report, leak) does not hide the others:
 * every failure is named on stderr.  With no arguments the input is read from
 * stdin.  Prints "N inputs replayed" and exits 0 if all passed, 1 if any
 * failed, 2 if a path cannot be read.  FZ_REPLAY_NOFORK=1 runs inputs in
 * process (for a debugger), FZ_REPLAY_REPEAT=N then runs each N times (to
 * time the harness: fuzz/README.md, Throughput), and with FZ_REPLAY_TIME=1
 * prints the mean microseconds per run of each input ("time US PATH", to find
 * the inputs a campaign spends its time on); FZ_REPLAY_VERBOSE=1 names each
 * input.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz/fz.h"

static int read_all(FILE *f, uint8_t **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap);

	if (!b)
		return -1;
	for (;;) {
		size_t got;

		if (n == cap) {
			uint8_t *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				return -1;
			}
			b = nb;
			cap *= 2;
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(b);
		return -1;
	}
	*buf = b;
	*len = n;
	return 0;
}

struct tally {
	unsigned long count, failed;
};

/* Run one input in a child; report how it ended. */
static void run_input(const char *path, const uint8_t *buf, size_t len, struct tally *t)
{
	pid_t pid;
	int st;

	t->count++;
	if (getenv("FZ_REPLAY_NOFORK")) {
		const char *rep = getenv("FZ_REPLAY_REPEAT");
		unsigned long n = rep ? strtoul(rep, NULL, 0) : 1, runs = n ? n : 1;
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		do /* (FZ_REPLAY_REPEAT: measure the harness's cost per input) */
			LLVMFuzzerTestOneInput(buf, len);
		while (--n > 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (getenv("FZ_REPLAY_TIME"))
			fprintf(stderr, "time %.1f %s\n",
				((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
					1e3 / (double)runs,
				path);
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("replay: fork");
		exit(2);
	}
	if (pid == 0) {
		LLVMFuzzerTestOneInput(buf, len);
		exit(0); /* atexit: the leak checker runs per input */
	}
	if (waitpid(pid, &st, 0) < 0) {
		perror("replay: waitpid");
		exit(2);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	t->failed++;
	if (WIFSIGNALED(st))
		fprintf(stderr, "replay: FAILED %s (signal %d)\n", path, WTERMSIG(st));
	else
		fprintf(stderr, "replay: FAILED %s (exit %d)\n", path, WEXITSTATUS(st));
}

static int run_file(const char *path, struct tally *count)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	uint8_t *buf;
	size_t len;
	int rc;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = read_all(f, &buf, &len);
	if (f != stdin)
		fclose(f);
	if (rc) {
		fprintf(stderr, "replay: %s: read error\n", path);
		return -1;
	}
	if (getenv("FZ_REPLAY_VERBOSE"))
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	run_input(path, buf, len, count);
	free(buf);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, struct tally *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		char *p;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s/%s", dir, e->d_name) < 0) {
			rc = -1;
			break;
		}
		if (stat(p, &st) || !S_ISREG(st.st_mode)) {
			free(p);
			continue;
		}
		if (n == cap) {
			char **nn = realloc(names, (cap ? cap * 2 : 64) * sizeof(*names));

			if (!nn) {
				free(p);
				rc = -1;
				break;
			}
			names = nn;
			cap = cap ? cap * 2 : 64;
		}
		names[n++] = p;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (!rc && run_file(names[i], count))
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	struct tally count = { 0, 0 };
	int rc = 0;

	if (argc < 2)
		rc = run_file("-", &count);
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st)) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			rc |= run_dir(argv[i], &count);
		} else {
			rc |= run_file(argv[i], &count);
		}
	}
	printf("%lu inputs replayed", count.count);
	if (count.failed)
		printf(", %lu FAILED", count.failed);
	printf("\n");
	return rc ? 2 : count.failed ? 1 : 0;
}
