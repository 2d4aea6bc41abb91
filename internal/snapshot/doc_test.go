package snapshot_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

// TestFieldsDocumented keeps three lists in step: the Snapshot struct's
// expr names, the Fields documentation, and README's table.
func TestFieldsDocumented(t *testing.T) {
	var names []string
	st := reflect.TypeFor[snapshot.Snapshot]()
	for i := range st.NumField() {
		f := st.Field(i)
		name := f.Tag.Get("expr")
		if name == "-" {
			continue
		}
		names = append(names, name)
		if js := strings.Split(f.Tag.Get("json"), ",")[0]; js != name && !(name == "attr" && js == "attributes") {
			t.Errorf("field %s: json name %q differs from the rule name %q", f.Name, js, name)
		}
	}
	var documented []string
	for _, f := range snapshot.Fields {
		documented = append(documented, f.Name)
	}
	if !reflect.DeepEqual(names, documented) {
		t.Errorf("struct fields %v\ndocumented   %v", names, documented)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range snapshot.Fields {
		row := "| `" + f.Name + "` | " + f.Type + " | "
		if !strings.Contains(string(readme), row) {
			t.Errorf("README has no row %q", row)
		}
	}
	// JSON of an empty snapshot has every documented field.
	b, _ := json.Marshal(snapshot.Snapshot{})
	for _, f := range snapshot.Fields {
		key := f.Name
		if key == "attr" {
			key = "attributes"
		}
		if !strings.Contains(string(b), `"`+key+`":`) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}
