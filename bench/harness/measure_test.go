package harness

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestMeasureMain(t *testing.T) {
	sh := "/bin/sh"
	if _, err := os.Stat(sh); err != nil {
		t.Skip("no /bin/sh")
	}
	out := filepath.Join(t.TempDir(), "usage.json")
	if code := MeasureMain(out, []string{sh, "-c", "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; exit 3"}); code != 0 {
		t.Fatalf("MeasureMain = %d", code)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var u Usage
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatal(err)
	}
	if u.ExitCode != 3 || u.Wall <= 0 || u.MaxRSS <= 0 {
		t.Errorf("usage %+v: want exit 3, some wall time and RSS", u)
	}
	if code := MeasureMain(out, nil); code != 2 {
		t.Errorf("no command: %d, want 2", code)
	}
}
