package tf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sampleFile has a scalar, a matrix with NaN, ±Inf and -0 (which must keep
// their bits), an empty tensor and non-ASCII metadata.
func sampleFile() *File {
	return &File{
		Meta: map[string]string{"model": "psyngan", "note": "größe <&>", "step": "1200"},
		Entries: []Entry{
			{Name: "scalar", Shape: []int64{}, Data: []float32{3.25}},
			{Name: "gen/dense0/kernel", Shape: []int64{2, 3}, Data: []float32{
				1, -2.5, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1))}},
			{Name: "empty", Shape: []int64{0, 4}, Data: []float32{}},
		},
	}
}

func encode(t testing.TB, f *File) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f.Encode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// seal appends the SHA-256 trailer to a file body, so that tests (and the
// fuzz target) can reach the structural checks behind the checksum.
func seal(body []byte) []byte {
	sum := sha256.Sum256(body)
	return append(append([]byte(nil), body...), sum[:]...)
}

func sameFile(a, b *File) bool {
	if len(a.Entries) != len(b.Entries) || !reflect.DeepEqual(a.Meta, b.Meta) {
		return false
	}
	for i := range a.Entries {
		x, y := a.Entries[i], b.Entries[i]
		if x.Name != y.Name || !equalShape(x.Shape, y.Shape) || !bytes.Equal(bytesOf(x.Data), bytesOf(y.Data)) {
			return false
		}
	}
	return true
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	f := sampleFile()
	b := encode(t, f)
	got, err := Decode("sample", b)
	if err != nil {
		t.Fatal(err)
	}
	if !sameFile(f, got) {
		t.Fatalf("decoded %+v, want %+v", got, f)
	}
	if !bytes.Equal(encode(t, got), b) {
		t.Fatal("re-encoding gives different bytes")
	}
	// The layout of the documented header, checked by hand.
	if string(b[:8]) != "SPATGANW" || binary.LittleEndian.Uint32(b[8:]) != 1 {
		t.Fatalf("header % x", b[:12])
	}
}

// TestSaveLoadBitIdentical saves a trained-looking network, loads it into a
// graph initialised differently, and requires bit-identical outputs.
func TestSaveLoadBitIdentical(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gen.vars")
	build := func(seed uint64) (*Graph, Node, Node, *MLP) {
		g := NewGraph()
		x := g.Placeholder("x", 5)
		m := g.MLP("gen", 5, []int{16, 8, 2}, LeakyReLU, rand.New(rand.NewPCG(seed, 1)))
		return g, x, g.ApplyMLP(m, x), m
	}
	xv := uniform(rand.New(rand.NewPCG(3, 3)), 7*5, -2, 2)
	meta := map[string]string{"epoch": "7"}

	g1, x1, y1, m1 := build(1)
	s1 := newSession(t, g1)
	want := run(t, s1, []Feed{{Node: x1, Data: xv, Rows: 7}}, y1)[0]
	if err := s1.Save(path, m1.Variables(), meta); err != nil {
		t.Fatal(err)
	}

	g2, x2, y2, m2 := build(2)
	s2 := newSession(t, g2)
	before := run(t, s2, []Feed{{Node: x2, Data: xv, Rows: 7}}, y2)[0]
	if bytes.Equal(bytesOf(before), bytesOf(want)) {
		t.Fatal("test setup: the two initialisations give the same output")
	}
	gotMeta, err := s2.Load(path, m2.Variables())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotMeta, meta) {
		t.Errorf("metadata %v, want %v", gotMeta, meta)
	}
	got := run(t, s2, []Feed{{Node: x2, Data: xv, Rows: 7}}, y2)[0]
	if !bytes.Equal(bytesOf(got), bytesOf(want)) {
		t.Fatalf("outputs after load differ:\n got %v\nwant %v", got, want)
	}
}

// TestDecodeRejects: damaged, foreign and structurally invalid files are a
// *FormatError naming the file and the reason, never a panic.
func TestDecodeRejects(t *testing.T) {
	valid := encode(t, sampleFile())
	body := valid[:len(valid)-sha256.Size]
	le := binary.LittleEndian

	// header builds a sealed file from the documented layout.
	header := func(meta string, count uint32) []byte {
		b := []byte("SPATGANW")
		b = le.AppendUint32(b, 1)
		b = le.AppendUint32(b, uint32(len(meta)))
		b = append(b, meta...)
		return le.AppendUint32(b, count)
	}
	entry := func(name string, dims []int64, values int) []byte {
		b := le.AppendUint16(nil, uint16(len(name)))
		b = append(b, name...)
		b = append(b, byte(len(dims)))
		for _, d := range dims {
			b = le.AppendUint64(b, uint64(d))
		}
		return append(b, make([]byte, 4*values)...)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	version2 := append([]byte(nil), body...)
	le.PutUint32(version2[8:], 2)

	cases := []struct {
		name   string
		data   []byte
		reason string // a substring of FormatError.Reason
	}{
		{"empty", nil, "truncated"},
		{"short", []byte("SPATGANW"), "truncated"},
		{"png", append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...), "wrong magic"},
		{"text", []byte(strings.Repeat("just some text\n", 5)), "wrong magic"},
		{"version 2", seal(version2), "format version 2"},
		{"bit flip in data", flip(valid, len(valid)-sha256.Size-3), "checksum"},
		{"bit flip in checksum", flip(valid, len(valid)-1), "checksum"},
		{"trailing garbage", append(append([]byte(nil), valid...), 0), "checksum"},
		{"truncated by one byte", valid[:len(valid)-1], "checksum"},
		{"metadata not JSON", seal(header("{oops", 0)), "metadata"},
		{"metadata not canonical", seal(header(`{"a": "b"}`, 0)), "metadata"},
		{"metadata null", seal(header("null", 0)), "metadata"},
		{"metadata length past end", seal(header("{}", 0)[:14]), "truncated"},
		{"count past end", seal(header("{}", 2)), "truncated"},
		{"too many entries", seal(header("{}", 1<<20)), "entries"},
		{"empty name", seal(cat(header("{}", 1), entry("", []int64{1}, 1))), "empty or repeated"},
		{"repeated name", seal(cat(header("{}", 2), entry("w", []int64{1}, 1), entry("w", []int64{1}, 1))), "empty or repeated"},
		{"negative dimension", seal(cat(header("{}", 1), entry("w", []int64{-1}, 0))), "dimension"},
		{"huge dimension", seal(cat(header("{}", 1), entry("w", []int64{1 << 40}, 0))), "dimension"},
		{"too many elements", seal(cat(header("{}", 1), entry("w", []int64{1 << 20, 1 << 20}, 0))), "too many elements"},
		{"data past end", seal(cat(header("{}", 1), entry("w", []int64{3}, 2))), "truncated"},
		{"bytes after last entry", seal(cat(header("{}", 1), entry("w", []int64{1}, 1), []byte{0})), "after the last entry"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Decode("model.vars", c.data)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Decode = %v, %v; want a *FormatError", f, err)
			}
			if fe.Path != "model.vars" || !strings.HasPrefix(err.Error(), "tf: model.vars: ") || !strings.Contains(fe.Reason, c.reason) {
				t.Fatalf("error %q, want one naming model.vars and %q", err, c.reason)
			}
		})
	}
	// The structural cases above are well-formed where they are not meant
	// to be broken: the same builders make a file that decodes.
	ok := seal(cat(header("{}", 2), entry("a", []int64{2}, 2), entry("b", nil, 1)))
	if f, err := Decode("ok", ok); err != nil || len(f.Entries) != 2 || f.Entries[1].Data[0] != 0 {
		t.Fatalf("hand-built valid file: %+v, %v", f, err)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x10
	return c
}

// TestDecodeEveryPrefixAndBitFlip: every truncation and every single-bit
// flip of a valid file is an error.
func TestDecodeEveryPrefixAndBitFlip(t *testing.T) {
	valid := encode(t, sampleFile())
	for n := range len(valid) {
		if _, err := Decode("p", valid[:n]); err == nil {
			t.Fatalf("prefix of %d of %d bytes accepted", n, len(valid))
		}
	}
	for i := range valid {
		for bit := range 8 {
			c := append([]byte(nil), valid...)
			c[i] ^= 1 << bit
			if _, err := Decode("p", c); err == nil {
				t.Fatalf("flip of bit %d of byte %d accepted", bit, i)
			}
		}
	}
}

func TestEncodeRejectsInconsistentEntries(t *testing.T) {
	for _, e := range []Entry{
		{Name: "w", Shape: []int64{2, 2}, Data: []float32{1, 2, 3}},
		{Name: "", Shape: []int64{1}, Data: []float32{1}},
		{Name: "w", Shape: make([]int64, 256), Data: []float32{}},
	} {
		if err := (&File{Entries: []Entry{e}}).Encode(io.Discard); err == nil {
			t.Errorf("entry %q shape %v with %d values encoded", e.Name, e.Shape, len(e.Data))
		}
	}
}

// TestLoadRejects: a file that does not fit the graph is an error naming
// the variable and the file, and leaves the variables unchanged.
func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	g := NewGraph()
	w := g.Variable("w", []int64{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	b := g.Variable("b", []int64{3}, []float32{7, 8, 9})
	s := newSession(t, g)
	write := func(name string, f *File) string {
		p := filepath.Join(dir, name)
		if err := WriteFile(p, f); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, path string
		want       []string
	}{
		{"wrong shape", write("shape.vars", &File{Entries: []Entry{
			{Name: "w", Shape: []int64{3, 2}, Data: make([]float32, 6)},
			{Name: "b", Shape: []int64{3}, Data: make([]float32, 3)}}}),
			[]string{"w", "[3 2]", "shape.vars"}},
		{"missing variable", write("missing.vars", &File{Entries: []Entry{
			{Name: "w", Shape: []int64{2, 3}, Data: make([]float32, 6)}}}),
			[]string{"missing", "b", "missing.vars"}},
		{"not a file", filepath.Join(dir, "absent.vars"), []string{"absent.vars"}},
		{"directory", dir, []string{dir}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Load(c.path, []*Variable{w, b})
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, sub := range append(c.want, "tf: ") {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q does not mention %q", err, sub)
				}
			}
			vals, err := s.Values([]*Variable{w, b})
			if err != nil {
				t.Fatal(err)
			}
			if !equalValues(vals[0], []float32{1, 2, 3, 4, 5, 6}) || !equalValues(vals[1], []float32{7, 8, 9}) {
				t.Errorf("variables changed by a failed load: %v", vals)
			}
		})
	}
}

// dirNames lists a directory.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

var errDiskFull = errors.New("disk full")

// TestWriteAtomic: a successful write leaves exactly the target; a writer
// that fails half way leaves no temporary file and either no target or the
// previous one untouched.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.vars")
	failing := func(w io.Writer) error {
		if _, err := w.Write([]byte("SPATGANW partial")); err != nil {
			return err
		}
		return errDiskFull
	}

	err := WriteAtomic(path, failing)
	if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), path) {
		t.Fatalf("failing writer: error %v, want one wrapping %v and naming %s", err, errDiskFull, path)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Fatalf("after a failed first write the directory holds %v", names)
	}

	f := sampleFile()
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"model.vars"}) {
		t.Fatalf("after a write the directory holds %v", names)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	if err := WriteAtomic(path, failing); !errors.Is(err, errDiskFull) {
		t.Fatalf("failing writer: error %v", err)
	}
	// An encoder that fails after writing part of the file (bad second entry).
	bad := &File{Entries: []Entry{f.Entries[1], {Name: "x", Shape: []int64{2}, Data: []float32{1}}}}
	if err := WriteFile(path, bad); err == nil {
		t.Fatal("WriteFile of an inconsistent File succeeded")
	}
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"model.vars"}) {
		t.Fatalf("after failed overwrites the directory holds %v", names)
	}
	now, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(now, good) {
		t.Fatalf("the previous file was changed by failed writes (%v)", err)
	}
	if back, err := ReadFile(path); err != nil || !sameFile(back, f) {
		t.Fatalf("ReadFile after failed overwrites: %v", err)
	}

	if err := WriteFile(filepath.Join(dir, "no", "such", "dir.vars"), f); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

// oracleEntry is an entry as oracleDecode reads it.
type oracleEntry struct {
	name  string
	shape []int64
	bits  []uint32
}

// oracleDecode reads a variable file's layout as the format comment
// documents it, independently of Decode: magic, version 1, the SHA-256 of
// the body, the metadata JSON, and each entry's name, shape and value bits
// (little-endian). ok is false for anything malformed.
func oracleDecode(b []byte) (meta map[string]string, entries []oracleEntry, ok bool) {
	if len(b) < 8+4+4+4+32 || string(b[:8]) != "SPATGANW" || binary.LittleEndian.Uint32(b[8:]) != 1 {
		return nil, nil, false
	}
	body := b[:len(b)-32]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], b[len(b)-32:]) {
		return nil, nil, false
	}
	p := body[12:]
	next := func(n uint64) ([]byte, bool) {
		if n > uint64(len(p)) {
			return nil, false
		}
		r := p[:n]
		p = p[n:]
		return r, true
	}
	ml, good := next(4)
	if !good {
		return nil, nil, false
	}
	mb, good := next(uint64(binary.LittleEndian.Uint32(ml)))
	if !good || json.Unmarshal(mb, &meta) != nil || meta == nil {
		return nil, nil, false
	}
	cb, good := next(4)
	if !good {
		return nil, nil, false
	}
	for i := uint32(0); i < binary.LittleEndian.Uint32(cb); i++ {
		nl, good := next(2)
		if !good {
			return nil, nil, false
		}
		nb, good := next(uint64(binary.LittleEndian.Uint16(nl)))
		if !good {
			return nil, nil, false
		}
		rb, good := next(1)
		if !good {
			return nil, nil, false
		}
		e := oracleEntry{name: string(nb)}
		count := uint64(1)
		for j := 0; j < int(rb[0]); j++ {
			db, good := next(8)
			if !good {
				return nil, nil, false
			}
			d := binary.LittleEndian.Uint64(db)
			if d > 1<<28 {
				return nil, nil, false
			}
			count *= d
			if count > 1<<28 {
				return nil, nil, false
			}
			e.shape = append(e.shape, int64(d))
		}
		data, good := next(4 * count)
		if !good {
			return nil, nil, false
		}
		for j := uint64(0); j < count; j++ {
			e.bits = append(e.bits, binary.LittleEndian.Uint32(data[4*j:]))
		}
		entries = append(entries, e)
	}
	return meta, entries, len(p) == 0
}

// FuzzDecode: for any input, Decode returns an error or a File that agrees
// with an independent reading of the documented layout (oracleDecode:
// metadata, names, shapes, little-endian value bits) and encodes back to
// exactly the input (the format has one encoding per content). Each input is tried as a whole file and, sealed with a valid
// checksum, as a file body, so that the fuzzer reaches the parser behind
// the checksum.
func FuzzDecode(f *testing.F) {
	valid := encode(f, sampleFile())
	f.Add(valid)
	f.Add(valid[:len(valid)-sha256.Size])
	f.Add(encode(f, &File{}))
	f.Add(encode(f, &File{Entries: []Entry{{Name: "w", Shape: []int64{1, 1, 1}, Data: []float32{1}}}})[:48])
	f.Add([]byte("SPATGANW\x01\x00\x00\x00\x02\x00\x00\x00{}\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, seal(data)} {
			file, err := Decode("fuzz", in)
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("error %v is not a *FormatError", err)
				}
				continue
			}
			meta, entries, ok := oracleDecode(in)
			if !ok || !reflect.DeepEqual(meta, file.Meta) || len(entries) != len(file.Entries) {
				t.Fatalf("Decode accepts a file the layout reading refuses or reads otherwise (ok %v)", ok)
			}
			for i, e := range entries {
				fe := file.Entries[i]
				if fe.Name != e.name || len(fe.Data) != len(e.bits) || (len(e.shape) > 0 || len(fe.Shape) > 0) && !reflect.DeepEqual(fe.Shape, e.shape) {
					t.Fatalf("entry %d: %s %v, layout says %s %v", i, fe.Name, fe.Shape, e.name, e.shape)
				}
				for j, v := range fe.Data {
					if math.Float32bits(v) != e.bits[j] {
						t.Fatalf("entry %s value %d: bits %#x, layout says %#x", e.name, j, math.Float32bits(v), e.bits[j])
					}
				}
			}
			var b bytes.Buffer
			if err := file.Encode(&b); err != nil {
				t.Fatalf("decoded file does not encode: %v", err)
			}
			if !bytes.Equal(b.Bytes(), in) {
				t.Fatalf("re-encoded %d bytes differ from the %d decoded", b.Len(), len(in))
			}
		}
	})
}

// TestLittleEndianValues: values are stored little-endian whatever the
// host: 1.0 is 0x3f800000 (IEEE 754), so its bytes are 00 00 80 3f, and
// -2.5 is 0xc0200000, bytes 00 00 20 c0 (both by hand).
func TestLittleEndianValues(t *testing.T) {
	var b bytes.Buffer
	if err := (&File{Entries: []Entry{{Name: "w", Shape: []int64{2}, Data: []float32{1, -2.5}}}}).Encode(&b); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	vals := raw[len(raw)-sha256.Size-8 : len(raw)-sha256.Size]
	if want := []byte{0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0}; !bytes.Equal(vals, want) {
		t.Fatalf("value bytes %x, want %x", vals, want)
	}
	f, err := Decode("le", raw)
	if err != nil {
		t.Fatal(err)
	}
	if f.Entries[0].Data[0] != 1 || f.Entries[0].Data[1] != -2.5 {
		t.Fatalf("decoded %v", f.Entries[0].Data)
	}
}
