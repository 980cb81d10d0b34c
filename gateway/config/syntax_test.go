package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"
)

// TestTokenPlaces checks that, once fixTagColumns has run, every token
// written as it reads in the source (keys, plain values, indicators) is
// at its place in the source: errors point where the operator must look.
func TestTokenPlaces(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{
		"tags in flow":  "a: {x: !!int 1, y: !t [!u 2, 3], z: !v &w 4}\nb: [!x a, !y b]\n",
		"tag and alias": "a: &x 1\nb: !t *x\nc: !!str 2 # !c\n",
		"unicode":       "ünï: [é, \"ê\", 'ë']\nk: v\n",
		"CRLF":          "a: 1\r\nb:\r\n  - !t x\r\n  - y\r\n",
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		inputs[file] = string(data)
	}
	for name, src := range inputs {
		lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
		tokens := lexer.Tokenize(src)
		fixTagColumns(tokens)
		for _, tk := range tokens {
			if tk.Type == token.InvalidType || tk.Type == token.CommentType || tk.Value == "" ||
				strings.TrimSpace(tk.Origin) != tk.Value || strings.ContainsAny(tk.Origin, "\r\n") {
				continue
			}
			p := tk.Position
			if p.Line > len(lines) || p.Column < 1 || p.Column > len([]rune(lines[p.Line-1])) {
				t.Errorf("%s: %q at %d:%d, outside the source", name, tk.Value, p.Line, p.Column)
				continue
			}
			if rest := string([]rune(lines[p.Line-1])[p.Column-1:]); !strings.HasPrefix(rest, tk.Value) {
				t.Errorf("%s: %q at %d:%d, where the source has %q", name, tk.Value, p.Line, p.Column, rest)
			}
		}
	}
}

func TestCheckText(t *testing.T) {
	tests := []struct {
		name, text string
		want       place
		msg        string
	}{
		{"clean", "a: ü\r\nb: \"\\x01\"\n", place{}, ""},
		{"invalid UTF-8 after multibyte", "a: ü\nbé: \xc3\n", place{2, 5}, "byte 0xc3 is not UTF-8: the file must be UTF-8 text"},
		{"DEL", "a: x\x7f", place{1, 5}, `control character U+007F is not allowed (in a double-quoted string, write it as \u007f)`},
		{"UTF-16", "\xff\xfea\x00", place{1, 1}, "the file is UTF-16: save it as UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, msg := checkText([]byte(tt.text))
			if p != tt.want || msg != tt.msg {
				t.Errorf("checkText = %v %q, want %v %q", p, msg, tt.want, tt.msg)
			}
		})
	}
}
