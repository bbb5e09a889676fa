package main

import "testing"

func TestIsTrain(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"train", "--steps", "10"}, true},
		{[]string{"--verbose", "train"}, true},
		{[]string{"generate", "--bundle", "train"}, false},
		{[]string{"trace", "export"}, false},
		{[]string{"--", "train"}, false},
		{nil, false},
	} {
		if got := isTrain(tc.args); got != tc.want {
			t.Errorf("isTrain(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
