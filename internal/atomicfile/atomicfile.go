package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Mode is the permission of every file written here.
const Mode os.FileMode = 0o644

// File is a file being written. Commit makes it appear at its path; Abort
// (or Close without Commit) discards it. Commit and Abort are safe to call
// more than once; after a Commit, Abort does nothing.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts writing path.
func Create(path string) (*File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("atomicfile: %w", err)
	}
	if err := tmp.Chmod(Mode); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("atomicfile: %w", err)
	}
	return &File{File: tmp, path: path}, nil
}

// Path is the destination path.
func (f *File) Path() string { return f.path }

// Commit syncs the file, closes it and renames it over the destination,
// then syncs the directory.
func (f *File) Commit() error {
	if f.done {
		return nil
	}
	f.done = true
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.File.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.File.Name())
		return fmt.Errorf("atomicfile: %s: %w", f.path, err)
	}
	if d, derr := os.Open(filepath.Dir(f.path)); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Abort discards the file; the destination is left as it was.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	f.File.Close()
	if err := os.Remove(f.File.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("atomicfile: %w", err)
	}
	return nil
}

// Close commits the file: with it a File is an io.WriteCloser whose Close
// publishes what was written. Call Abort first to discard instead.
func (f *File) Close() error { return f.Commit() }

// Write writes path through write: the destination changes only if write
// and the commit succeed.
func Write(path string, write func(io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}
