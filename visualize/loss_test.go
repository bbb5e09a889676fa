package visualize

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestReadLossLogSample(t *testing.T) {
	// testdata/loss_sample.csv was written by `spatgan train` (see
	// testdata/README.md): 30 rows per model, held-out checks on some.
	recs, err := ReadLossLogFile(filepath.Join("testdata", "loss_sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	evaluated := 0
	for _, r := range recs {
		per[r.Model]++
		if !math.IsNaN(r.HeldoutKS) {
			evaluated++
		}
	}
	for _, m := range Models {
		if per[m] == 0 {
			t.Errorf("no rows for %s", m)
		}
	}
	if evaluated == 0 || evaluated == len(recs) {
		t.Errorf("%d of %d rows have a held-out check; the sample has some with and some without", evaluated, len(recs))
	}
	// First data row, by hand from the file.
	first := recs[0]
	if first.Model != "client-packet" || first.Step != 100 || first.GLoss != -1.17207 || first.Wasserstein != 0.432217 || !math.IsNaN(first.HeldoutC2ST) {
		t.Errorf("first row %+v", first)
	}
}

func TestReadLossLogErrors(t *testing.T) {
	head := strings.Join(LossHeader, ",") + "\n"
	for _, tc := range []struct {
		name, in   string
		line       int
		field, msg string
	}{
		{"empty", "", 1, "", "empty file"},
		{"wrong header", "model,step\n", 1, "", "header"},
		{"no rows", head, 2, "", "no rows"},
		{"short row", head + "server-packet,1,2\n", 2, "", "3 fields, want 9"},
		{"bad step", head + "server-packet,x,1,1,1,1,1,,\n", 2, "step", `"x" is not a step number`},
		{"negative step", head + "server-packet,-3,1,1,1,1,1,,\n", 2, "step", "not a step number"},
		{"bad number", head + "server-packet,1,1,1,1,1,1,,\nserver-packet,2,1,NaN,1,1,1,,\n", 3, "critic_real", `"NaN" is not a finite number`},
		{"empty loss", head + "server-packet,1,,1,1,1,1,,\n", 2, "g_loss", `"" is not a finite number`},
		{"empty model", head + ",1,1,1,1,1,1,,\n", 2, "model", "empty"},
		{"bad quote", head + "\"server,1\n", 2, "", ""},
	} {
		_, err := ReadLossLog(strings.NewReader(tc.in), "loss.csv")
		var le *LossError
		if !errors.As(err, &le) {
			t.Errorf("%s: error %v is not a *LossError", tc.name, err)
			continue
		}
		if le.File != "loss.csv" || le.Line != tc.line || le.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %q (line %d field %q), want line %d field %q containing %q", tc.name, err, le.Line, le.Field, tc.line, tc.field, tc.msg)
		}
		if !strings.HasPrefix(err.Error(), "visualize: loss.csv, line ") {
			t.Errorf("%s: %q does not name the package, file and line", tc.name, err)
		}
	}
	if _, err := ReadLossLogFile(filepath.Join(t.TempDir(), "none.csv")); err == nil || !strings.Contains(err.Error(), "none.csv") {
		t.Errorf("missing file: %v", err)
	}
}

func sameRecord(a, b LossRecord) bool {
	eq := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
	return a.Model == b.Model && a.Step == b.Step && eq(a.GLoss, b.GLoss) && eq(a.CriticReal, b.CriticReal) &&
		eq(a.CriticFake, b.CriticFake) && eq(a.Wasserstein, b.Wasserstein) && eq(a.Penalty, b.Penalty) &&
		eq(a.HeldoutKS, b.HeldoutKS) && eq(a.HeldoutC2ST, b.HeldoutC2ST)
}

// FuzzReadLossLog: whatever the input, ReadLossLog returns records or a
// *LossError; records it accepts survive a write/read round trip exactly.
func FuzzReadLossLog(f *testing.F) {
	head := strings.Join(LossHeader, ",") + "\n"
	f.Add(head + "server-packet,100,-1.17,1.5,1.08,0.43,0.02,,\n")
	f.Add(head + "client-burst,200,1e-3,-2,3,4,5,0.25,0.5\nserver-burst,0,0,0,0,0,0,0,1\n")
	f.Add(head + "\"a,b\",1,1,1,1,1,1,,\n")
	f.Add(head + "x,1,1,1,1,1,1,1\n")
	f.Add("garbage")
	f.Add(strings.Join(LossHeaderV1, ",") + "\n" + "client-packet,500,1,2,3,4,5,0.1,0.6\n")
	f.Fuzz(func(t *testing.T, in string) {
		recs, err := ReadLossLog(strings.NewReader(in), "fuzz.csv")
		if err != nil {
			var le *LossError
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not a *LossError", err)
			}
			return
		}
		// Independent reading: encoding/csv and strconv, the headers of
		// formats 2 and 1 written out here.
		cr := csv.NewReader(strings.NewReader(in))
		cr.FieldsPerRecord = -1
		rows, cerr := cr.ReadAll()
		if cerr != nil || len(rows) != len(recs)+1 {
			t.Fatalf("accepted %d records; encoding/csv reads %d rows (%v)", len(recs), len(rows), cerr)
		}
		if h := strings.Join(rows[0], ","); h != "model,step,g_loss,critic_real,critic_fake,wasserstein,penalty,val_ks,val_c2st" &&
			h != "model,step,g_loss,critic_real,critic_fake,wasserstein,penalty,heldout_ks,heldout_c2st" {
			t.Fatalf("accepted header %q", h)
		}
		for i, r := range recs {
			row := rows[i+1]
			step, serr := strconv.ParseInt(row[1], 10, 64)
			if len(row) != 9 || r.Model != row[0] || serr != nil || r.Step != step {
				t.Fatalf("record %d %+v from row %q", i+1, r, row)
			}
			for k, v := range []float64{r.GLoss, r.CriticReal, r.CriticFake, r.Wasserstein, r.Penalty, r.HeldoutKS, r.HeldoutC2ST} {
				s := row[2+k]
				want, ferr := strconv.ParseFloat(s, 64)
				if s == "" && k >= 5 {
					want, ferr = math.NaN(), nil
				}
				if ferr != nil || !(v == want || math.IsNaN(v) && math.IsNaN(want)) || math.IsInf(v, 0) {
					t.Fatalf("record %d column %d: %v from %q", i+1, 2+k, v, s)
				}
			}
		}
		var buf bytes.Buffer
		if err := WriteLossLog(&buf, recs); err != nil {
			t.Fatal(err)
		}
		back, err := ReadLossLog(&buf, "round-trip")
		if err != nil {
			t.Fatalf("re-reading written log: %v\n%s", err, buf.String())
		}
		if len(back) != len(recs) {
			t.Fatalf("%d records back, wrote %d", len(back), len(recs))
		}
		for i := range recs {
			if !sameRecord(recs[i], back[i]) {
				t.Fatalf("record %d: wrote %+v, read %+v", i, recs[i], back[i])
			}
		}
	})
}
