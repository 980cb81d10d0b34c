package access

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Passwords are kept as argon2id hashes in the PHC string form,
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, with the parameters OWASP
// recommends for argon2id; bcrypt hashes ($2a$, $2b$, $2y$) made by other
// tools are accepted too. The parameters travel with each hash, so a hash
// made with stronger ones later still verifies.

// PasswordParams are argon2id's cost parameters.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultPasswordParams are what HashPassword uses: 19 MiB, two passes,
// one thread.
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// MaxPassword bounds a password's length in bytes: long enough for
	// any passphrase, short enough that hashing it costs what hashing a
	// short one does.
	MaxPassword = 256
)

// HashPassword returns the argon2id hash of password in PHC form.
func HashPassword(password string) (string, error) {
	return HashPasswordWith(password, DefaultPasswordParams)
}

// HashPasswordWith is HashPassword with other parameters.
func HashPasswordWith(password string, p PasswordParams) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword says why a new password is unacceptable, or nil.
func CheckPassword(password string) error {
	switch {
	case len(password) < 8:
		return errors.New("a password needs at least 8 characters")
	case len(password) > MaxPassword:
		return fmt.Errorf("a password may have at most %d bytes", MaxPassword)
	}
	return nil
}

// ParsePasswordHash checks that hash is one VerifyPassword understands,
// saying what is wrong with it if not. It never includes the hash in the
// error.
func ParsePasswordHash(hash string) error {
	if strings.HasPrefix(hash, "$2") {
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return fmt.Errorf("not a valid bcrypt hash: %w", err)
		}
		return nil
	}
	_, _, _, err := parseArgon2id(hash)
	return err
}

// VerifyPassword reports whether password matches hash, in time that does
// not depend on where they differ. A malformed hash matches nothing.
func VerifyPassword(hash, password string) bool {
	if len(password) > MaxPassword {
		return false
	}
	if strings.HasPrefix(hash, "$2") {
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	p, salt, key, err := parseArgon2id(hash)
	if err != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// Limits on a hash's parameters, so a configured hash cannot make each
// login cost seconds or gigabytes.
const (
	maxMemory = 1 << 20 // KiB: 1 GiB
	maxTime   = 16
)

func parseArgon2id(hash string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("want an argon2id hash ($argon2id$v=19$m=…,t=…,p=…$salt$hash) or a bcrypt one ($2b$…)")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("argon2id hash: want version v=%d", argon2.Version)
	}
	var m, t, th uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", m, t, th) != parts[3] {
		return p, nil, nil, errors.New("argon2id hash: want parameters m=<KiB>,t=<passes>,p=<threads>")
	}
	if m < 8 || m > maxMemory || t < 1 || t > maxTime || th < 1 || th > 255 || m < 8*th {
		return p, nil, nil, fmt.Errorf("argon2id hash: parameters out of range (m from 8 to %d KiB, t from 1 to %d, p from 1 to 255)", maxMemory, maxTime)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, errors.New("argon2id hash: the salt is not base64 of at least 8 bytes")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errors.New("argon2id hash: the hash is not base64 of 16 to 64 bytes")
	}
	return PasswordParams{Memory: m, Time: t, Threads: uint8(th)}, salt, key, nil
}
