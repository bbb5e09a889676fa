// Package atomicfile writes files atomically: the content goes to a
// temporary file in the destination's directory, which is synced and
// renamed over the destination only when complete, so a reader (or a
// process restarted after a crash) sees the old file or the new one, never
// a partial one. Files get mode 0644: nothing the product writes is private.
package atomicfile
