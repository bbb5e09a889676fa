package tf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/spatgan/spatgan/internal/atomicfile"
)

// Variable files ("SPATGANW", format version 1), little endian:
//
//	magic    [8]byte  "SPATGANW"
//	version  uint32   1
//	metaLen  uint32   length of a JSON object of string metadata
//	meta     [metaLen]byte
//	count    uint32   number of entries
//	entries, each:
//	  nameLen uint16, name [nameLen]byte
//	  rank    uint8,  dims [rank]int64
//	  data    [prod(dims)]float32
//	sum      [32]byte SHA-256 of every byte before it
//
// Files are written to a temporary file in the same directory, synced and
// renamed into place, so a reader sees the old file or the new one, never a
// partial one. Reading verifies the magic, version, structure and checksum.
const (
	fileMagic   = "SPATGANW"
	FileVersion = 1
	maxEntries  = 1 << 16
	maxElements = 1 << 28
)

// Entry is one named tensor of a variable file.
type Entry struct {
	Name  string
	Shape []int64
	Data  []float32
}

// File is the content of a variable file.
type File struct {
	Meta    map[string]string
	Entries []Entry
}

// Lookup returns the entry with the given name.
func (f *File) Lookup(name string) (*Entry, bool) {
	for i := range f.Entries {
		if f.Entries[i].Name == name {
			return &f.Entries[i], true
		}
	}
	return nil, false
}

// Encode writes f in the variable file format.
func (f *File) Encode(w io.Writer) error {
	h := sha256.New()
	bw := io.MultiWriter(w, h)
	var buf bytes.Buffer
	buf.WriteString(fileMagic)
	le := binary.LittleEndian
	buf.Write(le.AppendUint32(nil, FileVersion))
	meta, err := json.Marshal(sortedMeta(f.Meta))
	if err != nil {
		return fmt.Errorf("tf: encode metadata: %w", err)
	}
	buf.Write(le.AppendUint32(nil, uint32(len(meta))))
	buf.Write(meta)
	buf.Write(le.AppendUint32(nil, uint32(len(f.Entries))))
	if _, err := bw.Write(buf.Bytes()); err != nil {
		return err
	}
	for _, e := range f.Entries {
		if len(e.Name) == 0 || len(e.Name) > math.MaxUint16 || len(e.Shape) > math.MaxUint8 {
			return fmt.Errorf("tf: entry %q: bad name or rank", e.Name)
		}
		n := int64(1)
		for _, d := range e.Shape {
			n *= d
		}
		if n != int64(len(e.Data)) {
			return fmt.Errorf("tf: entry %s: %d values for shape %v", e.Name, len(e.Data), e.Shape)
		}
		buf.Reset()
		buf.Write(le.AppendUint16(nil, uint16(len(e.Name))))
		buf.WriteString(e.Name)
		buf.WriteByte(byte(len(e.Shape)))
		for _, d := range e.Shape {
			buf.Write(le.AppendUint64(nil, uint64(d)))
		}
		if _, err := bw.Write(buf.Bytes()); err != nil {
			return err
		}
		if _, err := bw.Write(appendFloat32sLE(buf.Bytes()[:0], e.Data)); err != nil {
			return err
		}
	}
	_, err = w.Write(h.Sum(nil))
	return err
}

// appendFloat32sLE appends v as IEEE 754 binary32 values in little-endian
// byte order, whatever the host's byte order.
func appendFloat32sLE(b []byte, v []float32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func sortedMeta(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// FormatError reports a variable file that is not valid.
type FormatError struct {
	Path   string
	Reason string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("tf: %s: not a valid variable file: %s", e.Path, e.Reason)
}

// Decode parses a variable file held in b; name is used in errors.
func Decode(name string, b []byte) (*File, error) {
	bad := func(format string, a ...any) error {
		return &FormatError{Path: name, Reason: fmt.Sprintf(format, a...)}
	}
	if len(b) < len(fileMagic)+12+sha256.Size {
		return nil, bad("truncated (%d bytes)", len(b))
	}
	if string(b[:len(fileMagic)]) != fileMagic {
		return nil, bad("wrong magic %q", b[:len(fileMagic)])
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	le := binary.LittleEndian
	p := body[len(fileMagic):]
	if v := le.Uint32(p); v != FileVersion {
		return nil, bad("format version %d, this program reads version %d", v, FileVersion)
	}
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, bad("checksum mismatch (truncated or corrupted)")
	}
	p = p[4:]
	take := func(n int) ([]byte, error) {
		if n < 0 || n > len(p) {
			return nil, bad("truncated")
		}
		r := p[:n]
		p = p[n:]
		return r, nil
	}
	ml, err := take(4)
	if err != nil {
		return nil, err
	}
	mb, err := take(int(le.Uint32(ml)))
	if err != nil {
		return nil, err
	}
	f := &File{Meta: map[string]string{}}
	if err := json.Unmarshal(mb, &f.Meta); err != nil {
		return nil, bad("metadata: %v", err)
	}
	// One encoding per content: the metadata must be exactly what Encode
	// writes (compact JSON object, sorted and unique keys), so that a
	// decoded file re-encodes to the same bytes.
	if canon, err := json.Marshal(sortedMeta(f.Meta)); err != nil || !bytes.Equal(canon, mb) {
		return nil, bad("metadata is not a compact JSON object with sorted, unique keys")
	}
	cb, err := take(4)
	if err != nil {
		return nil, err
	}
	count := le.Uint32(cb)
	if count > maxEntries {
		return nil, bad("%d entries", count)
	}
	seen := map[string]bool{}
	for i := uint32(0); i < count; i++ {
		nl, err := take(2)
		if err != nil {
			return nil, err
		}
		nb, err := take(int(le.Uint16(nl)))
		if err != nil {
			return nil, err
		}
		name := string(nb)
		if name == "" || seen[name] {
			return nil, bad("entry %d: empty or repeated name %q", i, name)
		}
		seen[name] = true
		rb, err := take(1)
		if err != nil {
			return nil, err
		}
		shape := make([]int64, rb[0])
		n := int64(1)
		for j := range shape {
			db, err := take(8)
			if err != nil {
				return nil, err
			}
			shape[j] = int64(le.Uint64(db))
			if shape[j] < 0 || shape[j] > maxElements {
				return nil, bad("entry %s: dimension %d", name, shape[j])
			}
			n *= shape[j]
			if n > maxElements {
				return nil, bad("entry %s: too many elements", name)
			}
		}
		raw, err := take(int(4 * n))
		if err != nil {
			return nil, err
		}
		data := make([]float32, n)
		for j := range data {
			data[j] = math.Float32frombits(le.Uint32(raw[4*j:]))
		}
		f.Entries = append(f.Entries, Entry{Name: name, Shape: shape, Data: data})
	}
	if len(p) != 0 {
		return nil, bad("%d bytes after the last entry", len(p))
	}
	return f, nil
}

// ReadFile reads and verifies a variable file.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tf: %w", err)
	}
	return Decode(path, b)
}

// WriteFile writes f to path atomically (temporary file, fsync, rename).
func WriteFile(path string, f *File) error {
	return WriteAtomic(path, f.Encode)
}

// WriteAtomic writes path through write, into a temporary file in the same
// directory that is synced and renamed over path only if write succeeds.
// The file gets mode 0644.
func WriteAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("tf: write %s: %w", path, err)
	}
	return nil
}

// Snapshot reads vars from the session into a File with the given metadata.
func (s *Session) Snapshot(vars []*Variable, meta map[string]string) (*File, error) {
	vals, err := s.Values(vars)
	if err != nil {
		return nil, err
	}
	f := &File{Meta: meta}
	for i, v := range vars {
		f.Entries = append(f.Entries, Entry{Name: v.name, Shape: v.Shape(), Data: vals[i]})
	}
	return f, nil
}

// Save writes vars to path atomically.
func (s *Session) Save(path string, vars []*Variable, meta map[string]string) error {
	f, err := s.Snapshot(vars, meta)
	if err != nil {
		return err
	}
	return WriteFile(path, f)
}

// Restore assigns vars from f; every variable must be present with its shape.
func (s *Session) Restore(f *File, vars []*Variable) error {
	vals := make([][]float32, len(vars))
	var missing []string
	for i, v := range vars {
		e, ok := f.Lookup(v.name)
		if !ok {
			missing = append(missing, v.name)
			continue
		}
		if !equalShape(e.Shape, v.shape) {
			return fmt.Errorf("tf: variable %s has shape %v in the file, %v in the graph", v.name, e.Shape, v.shape)
		}
		vals[i] = e.Data
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("tf: %d variables missing from the file, first %s", len(missing), missing[0])
	}
	return s.Assign(vars, vals)
}

// Load reads path and restores vars from it, returning the file's metadata.
func (s *Session) Load(path string, vars []*Variable) (map[string]string, error) {
	f, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := s.Restore(f, vars); err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return f.Meta, nil
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
