package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
)

// MarshalText encodes a Kind by its name.
func (k Kind) MarshalText() ([]byte, error) {
	switch k {
	case SizeKind, TimeKind, BurstKind:
		return []byte(k.String()), nil
	}
	return nil, fmt.Errorf("metrics: unknown kind %d", int(k))
}

// UnmarshalText decodes a Kind from its name.
func (k *Kind) UnmarshalText(b []byte) error {
	for _, c := range []Kind{SizeKind, TimeKind, BurstKind} {
		if string(b) == c.String() {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("metrics: unknown kind %q", b)
}

// MarshalJSON encodes NaN and infinite fields as null (encoding/json
// rejects them).
func (d Distances) MarshalJSON() ([]byte, error) { return marshalNullable(d) }

// UnmarshalJSON decodes null fields as NaN.
func (d *Distances) UnmarshalJSON(b []byte) error { return unmarshalNullable(b, d) }

// MarshalJSON encodes NaN and infinite fields as null.
func (s Summary) MarshalJSON() ([]byte, error) { return marshalNullable(s) }

// UnmarshalJSON decodes null fields as NaN.
func (s *Summary) UnmarshalJSON(b []byte) error { return unmarshalNullable(b, s) }

// MarshalJSON encodes NaN and infinite fields as null.
func (d Dependence) MarshalJSON() ([]byte, error) { return marshalNullable(d) }

// UnmarshalJSON decodes null fields as NaN.
func (d *Dependence) UnmarshalJSON(b []byte) error { return unmarshalNullable(b, d) }

var float64Type = reflect.TypeFor[float64]()

// nullableType returns a struct type like t with every float64 field turned
// into *float64, tags kept, so that a nil pointer stands for NaN.
func nullableType(t reflect.Type) reflect.Type {
	fields := make([]reflect.StructField, t.NumField())
	for i := range fields {
		f := t.Field(i)
		if f.Type == float64Type {
			f.Type = reflect.PointerTo(float64Type)
		}
		fields[i] = f
	}
	return reflect.StructOf(fields)
}

func marshalNullable(v any) ([]byte, error) {
	src := reflect.ValueOf(v)
	dst := reflect.New(nullableType(src.Type())).Elem()
	for i := range src.NumField() {
		f := src.Field(i)
		if f.Type() != float64Type {
			dst.Field(i).Set(f)
			continue
		}
		if x := f.Float(); !math.IsNaN(x) && !math.IsInf(x, 0) {
			dst.Field(i).Set(reflect.ValueOf(&x))
		}
	}
	return json.Marshal(dst.Interface())
}

func unmarshalNullable(b []byte, v any) error {
	dstPtr := reflect.ValueOf(v)
	dst := dstPtr.Elem()
	tmp := reflect.New(nullableType(dst.Type()))
	if err := json.Unmarshal(b, tmp.Interface()); err != nil {
		return fmt.Errorf("metrics: decoding %s: %w", dst.Type().Name(), err)
	}
	src := tmp.Elem()
	for i := range src.NumField() {
		f := src.Field(i)
		if dst.Field(i).Type() != float64Type {
			dst.Field(i).Set(f)
			continue
		}
		if f.IsNil() {
			dst.Field(i).SetFloat(math.NaN())
		} else {
			dst.Field(i).SetFloat(f.Elem().Float())
		}
	}
	return nil
}

// MarshalJSON encodes NaN and infinite fields as null.
func (d SeriesDistances) MarshalJSON() ([]byte, error) { return marshalNullable(d) }

// UnmarshalJSON decodes null fields as NaN.
func (d *SeriesDistances) UnmarshalJSON(b []byte) error { return unmarshalNullable(b, d) }
