package main

import (
	"encoding/json"
	"io"

	"go.yaml.in/yaml/v3"
)

// outputFlagUsage is the help of every -o flag.
const outputFlagUsage = "output format: table (default), json or yaml"

func checkOutput(o string) error {
	switch o {
	case "", "table", "json", "yaml":
		return nil
	}
	return usagef("-o %q: use table, json or yaml", o)
}

// writeStructured prints v as JSON or YAML.
func writeStructured(w io.Writer, format string, v any) error {
	if format == "yaml" {
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return err
		}
		return enc.Close()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
