/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay_main.c - runs a fuzz harness's LLVMFuzzerTestOneInput over every file of the
 * corpus directories given as arguments (or over files given directly), so the corpus
 * is a regression test in every build, with gcc and without libFuzzer. Exits 1 if a
 * directory is empty or unreadable: a corpus that silently vanished tests nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPLAY_MAX_INPUT (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size > (off_t)REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -1;
	}
	r = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (r != st.st_size) {
		free(buf);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, (size_t)r);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	size_t total = 0;

	for (int i = 1; i < argc; i++) {
		struct dirent **names;
		struct stat st;
		int n;

		if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(argv[i]))
				return 1;
			total++;
			continue;
		}
		n = scandir(argv[i], &names, NULL, alphasort);
		if (n < 0) {
			fprintf(stderr, "replay: cannot list %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		for (int k = 0; k < n; k++) {
			char path[4096];

			if (names[k]->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]->d_name);
				if (run_file(path))
					return 1;
				total++;
			}
			free(names[k]);
		}
		free(names);
	}
	if (total == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return 1;
	}
	printf("replay: %zu inputs, no crash\n", total);
	return 0;
}
