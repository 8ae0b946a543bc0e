package providertest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cassette-backup/cassette/providers"
)

// creators is the number of goroutines racing to create one key.
const creators = 16

var ifNotExists = providers.PutOptions{IfNotExists: true}

func (s *suite) testIfNotExists(t *testing.T) {
	if s.o.SkipConditionalCreate {
		t.Skip("Options.SkipConditionalCreate: the backend has no conditional create")
	}
	probe := s.open(t)
	if !probe.Properties().ConditionalCreate {
		s.testNotSupported(t)
		return
	}
	parallel(t, "NewKey", func(t *testing.T) {
		st := s.open(t)
		key := providers.Key("locks/new")
		if err := st.Put(t.Context(), key, providers.Bytes([]byte("mine")), ifNotExists); err != nil {
			t.Fatalf("Put(%q, IfNotExists) of a new key: %v", key, err)
		}
		checkContent(t, st, key, []byte("mine"))
	})
	parallel(t, "ExistingKey", func(t *testing.T) {
		st := s.open(t)
		key := providers.Key("locks/taken")
		put(t, st, key, []byte("old"))
		err := st.Put(t.Context(), key, providers.Bytes([]byte("new")), ifNotExists)
		if !errors.Is(err, providers.ErrAlreadyExists) {
			t.Fatalf("Put(%q, IfNotExists) of an existing key = %v, want ErrAlreadyExists", key, err)
		}
		checkContent(t, st, key, []byte("old"))
	})
	parallel(t, "ExistingKeyStream", func(t *testing.T) {
		st := s.open(t)
		key := providers.Key("locks/taken-stream")
		put(t, st, key, []byte("old"))
		err := st.Put(t.Context(), key, providers.Stream(strings.NewReader("new content"), -1), ifNotExists)
		if !errors.Is(err, providers.ErrAlreadyExists) {
			t.Fatalf("Put(%q, IfNotExists) of an existing key = %v, want ErrAlreadyExists", key, err)
		}
		checkContent(t, st, key, []byte("old"))
	})
	parallel(t, "FailedPayloadLeavesKeyFree", func(t *testing.T) {
		st := s.open(t)
		key := providers.Key("locks/failed")
		r := &failingReader{data: randomBytes(64 << 10), n: 32 << 10, err: errInjected}
		if err := st.Put(t.Context(), key, providers.Stream(r, -1), ifNotExists); err == nil {
			t.Fatal("Put(IfNotExists) of a failing payload succeeded, want an error")
		}
		checkAbsent(t, st, key)
		if err := st.Put(t.Context(), key, providers.Bytes([]byte("second try")), ifNotExists); err != nil {
			t.Fatalf("Put(IfNotExists) after a failed one: %v", err)
		}
		checkContent(t, st, key, []byte("second try"))
	})
	parallel(t, "ConcurrentCreators", func(t *testing.T) {
		st := s.open(t)
		key := providers.Key("locks/contended")
		errs := make([]error, creators)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range creators {
			wg.Go(func() {
				<-start
				body := []byte(fmt.Sprintf("creator %d", i))
				errs[i] = st.Put(t.Context(), key, providers.Bytes(body), ifNotExists)
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("creators %d and %d both created %q", winner, i, key)
			case err == nil:
				winner = i
			case !errors.Is(err, providers.ErrAlreadyExists):
				t.Errorf("creator %d: %v, want nil or ErrAlreadyExists", i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("none of %d concurrent creators of %q won", creators, key)
		}
		checkContent(t, st, key, []byte(fmt.Sprintf("creator %d", winner)))
	})
}

// testNotSupported checks a backend without conditional create refuses
// IfNotExists instead of silently overwriting.
func (s *suite) testNotSupported(t *testing.T) {
	parallel(t, "NotSupported", func(t *testing.T) {
		st := s.open(t)
		key := providers.Key("locks/unsupported")
		err := st.Put(t.Context(), key, providers.Bytes([]byte("x")), ifNotExists)
		if !errors.Is(err, providers.ErrNotSupported) {
			t.Fatalf("Put(IfNotExists) on a backend with ConditionalCreate=false = %v, want ErrNotSupported", err)
		}
		checkAbsent(t, st, key)
	})
}
