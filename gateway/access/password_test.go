package access_test

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/watchfloor/watchfloor/gateway/access"
)

var cheap = access.PasswordParams{Memory: 64, Time: 1, Threads: 1}

func TestPasswordHash(t *testing.T) {
	h, err := access.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not carry the default parameters", h)
	}
	if err := access.ParsePasswordHash(h); err != nil {
		t.Errorf("own hash refused: %v", err)
	}
	if !access.VerifyPassword(h, "correct horse battery") || access.VerifyPassword(h, "correct horse batterx") {
		t.Error("verification does not tell the right password from a wrong one")
	}
	h2, _ := access.HashPassword("correct horse battery")
	if h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	b, err := bcrypt.GenerateFromPassword([]byte("from another tool"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if access.ParsePasswordHash(string(b)) != nil || !access.VerifyPassword(string(b), "from another tool") || access.VerifyPassword(string(b), "x") {
		t.Error("bcrypt hash not handled")
	}
}

func TestPasswordRules(t *testing.T) {
	if _, err := access.HashPasswordWith("short", cheap); err == nil {
		t.Error("a 5-character password was accepted")
	}
	long := strings.Repeat("x", access.MaxPassword+1)
	if _, err := access.HashPasswordWith(long, cheap); err == nil {
		t.Error("an oversized password was accepted")
	}
	h, _ := access.HashPasswordWith(strings.Repeat("x", access.MaxPassword), cheap)
	if access.VerifyPassword(h, long) {
		t.Error("an oversized password verified")
	}
}

func TestParsePasswordHashErrors(t *testing.T) {
	secret := "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
	for _, h := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$" + secret,
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$" + secret,
		"$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$" + secret,
		"$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHQ$" + secret,
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$" + secret,
		"$argon2id$v=19$m=64,t=99,p=1$c2FsdHNhbHQ$" + secret,
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + secret,
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$c2hvcnQ",
		"$2b$99$invalid",
	} {
		err := access.ParsePasswordHash(h)
		if err == nil {
			t.Errorf("%q accepted", h)
			continue
		}
		if strings.Contains(err.Error(), secret) || (h != "" && strings.Contains(err.Error(), h)) {
			t.Errorf("error %q shows the hash", err)
		}
		if access.VerifyPassword(h, "anything") {
			t.Errorf("malformed %q verified", h)
		}
	}
}
