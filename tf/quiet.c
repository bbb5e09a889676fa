// Silencing TensorFlow's logging before it can print (see quiet.go).
//
// libtensorflow prints its first line (oneDNN) from a static initialiser,
// while the dynamic loader runs the shared libraries' constructors, before
// any Go code. A function in the executable's .preinit_array runs before
// those constructors (ELF gABI; glibc calls it with argc, argv, envp), so it
// can hide the line, but not with setenv: libc's own initialiser, which
// runs after it, resets environ to the process's initial environment array.
// The preinit function therefore edits that array in place: it points an
// existing TF_CPP_MIN_LOG_LEVEL entry at "TF_CPP_MIN_LOG_LEVEL=3", or, when
// there is none, lends the last entry's slot to it for the time of the
// libraries' constructors. A constructor of the executable, which runs after
// the libraries' own and before Go starts, gives the slot back and sets the
// variable with setenv. With an empty environment there is no slot to lend:
// standard error is pointed at /dev/null for the constructors instead (the
// level TensorFlow read then stays 0, but its later lines come with the
// first session, inside the warm-up of quiet.go).
//
// Logging stays on when the command line holds --verbose or when
// SPATGAN_TF_LOG is set to anything but "" or "0".

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPATGAN_TF_VAR "TF_CPP_MIN_LOG_LEVEL"

static int spatgan_tf_verbose = 0;
static char spatgan_tf_entry[] = SPATGAN_TF_VAR "=3";
static char **spatgan_lent_env = NULL; // the environment array a slot was lent from
static int spatgan_lent_slot = -1;
static char *spatgan_lent_entry = NULL; // the entry that slot held
static int spatgan_saved_stderr = -1;

static int spatgan_wants_log(int argc, char **argv, char **envp) {
	for (int i = 0; envp != NULL && envp[i] != NULL; i++) {
		const char *e = envp[i];
		if (strncmp(e, "SPATGAN_TF_LOG=", 15) == 0) {
			e += 15;
			if (e[0] != '\0' && strcmp(e, "0") != 0) {
				return 1;
			}
		}
	}
	for (int i = 1; i < argc && argv != NULL && argv[i] != NULL; i++) {
		if (strcmp(argv[i], "--") == 0) {
			break;
		}
		if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "--verbose=true") == 0) {
			return 1;
		}
	}
	return 0;
}

static void spatgan_quiet_preinit(int argc, char **argv, char **envp) {
	spatgan_tf_verbose = spatgan_wants_log(argc, argv, envp);
	if (spatgan_tf_verbose || envp == NULL) {
		return;
	}
	int n = 0;
	for (; envp[n] != NULL; n++) {
		if (strncmp(envp[n], SPATGAN_TF_VAR "=", sizeof SPATGAN_TF_VAR) == 0) {
			envp[n] = spatgan_tf_entry;
			return;
		}
	}
	if (n > 0) {
		spatgan_lent_env = envp;
		spatgan_lent_slot = n - 1;
		spatgan_lent_entry = envp[n - 1];
		envp[n - 1] = spatgan_tf_entry;
		return;
	}
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0) {
		return;
	}
	spatgan_saved_stderr = dup(2);
	if (spatgan_saved_stderr >= 0) {
		dup2(devnull, 2);
	}
	close(devnull);
}

__attribute__((section(".preinit_array"), used))
static void (*spatgan_preinit)(int, char **, char **) = spatgan_quiet_preinit;

__attribute__((constructor))
static void spatgan_quiet_restore(void) {
	if (spatgan_saved_stderr >= 0) {
		dup2(spatgan_saved_stderr, 2);
		close(spatgan_saved_stderr);
		spatgan_saved_stderr = -1;
	}
	if (spatgan_lent_env != NULL) {
		spatgan_lent_env[spatgan_lent_slot] = spatgan_lent_entry;
		char *eq = strchr(spatgan_lent_entry, '=');
		if (eq != NULL) {
			// Also in environ, should a library have copied it meanwhile.
			size_t k = (size_t)(eq - spatgan_lent_entry);
			char name[256];
			if (k > 0 && k < sizeof name) {
				memcpy(name, spatgan_lent_entry, k);
				name[k] = '\0';
				setenv(name, eq + 1, 1);
			}
		}
		spatgan_lent_env = NULL;
	}
	if (!spatgan_tf_verbose) {
		setenv(SPATGAN_TF_VAR, "3", 1);
	}
}

int spatgan_tf_log_enabled(void) { return spatgan_tf_verbose; }

// spatgan_stderr_to fd points standard error at fd and returns a copy of the
// previous standard error (-1 on failure).
int spatgan_stderr_to(int fd) {
	int saved = dup(2);
	if (saved < 0) {
		return -1;
	}
	if (dup2(fd, 2) < 0) {
		close(saved);
		return -1;
	}
	return saved;
}

// spatgan_stderr_restore undoes spatgan_stderr_to.
void spatgan_stderr_restore(int saved) {
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
}
