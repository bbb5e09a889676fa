package trace

import (
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// requireTools reports whether missing tools and data must fail tests
// instead of skipping them.
func requireTools() bool { return os.Getenv("SPATGAN_REQUIRE_TOOLS") == "1" }

// skipOrFail skips the test, or fails it under SPATGAN_REQUIRE_TOOLS=1.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if requireTools() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// sharedData returns the path of a file of ../shared/data next to the
// repository, skipping the test when it is absent.
func sharedData(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "..", "shared", "data", name)
	if _, err := os.Stat(p); err != nil {
		skipOrFail(t, "shared data %s not found (%v): it lives in ../shared/data beside the repository", name, err)
	}
	return p
}

// lookTool returns the path of an external tool, skipping when missing.
func lookTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		skipOrFail(t, "%s not installed (scripts/install-test-tools.sh installs it)", name)
	}
	return p
}

func gzipWriter(w io.Writer) *gzip.Writer { return gzip.NewWriter(w) }
