package transport

import (
	"fmt"
	"io"
)

// ExactReader passes exactly n bytes of r through. A body that ends early
// fails, through fail, with an error wrapping io.ErrUnexpectedEOF (the
// connection was cut), never with a silent short read; fail also wraps the
// body's own errors. what names the body in messages ("object", "blob").
func ExactReader(r io.Reader, n int64, what string, fail func(error) error) io.Reader {
	return &exactReader{r: r, remain: n, what: what, fail: fail}
}

type exactReader struct {
	r      io.Reader
	remain int64
	what   string
	fail   func(error) error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.remain {
		p = p[:e.remain]
	}
	n, err := e.r.Read(p)
	e.remain -= int64(n)
	switch {
	case e.remain == 0:
		return n, io.EOF
	case err == io.EOF:
		return n, e.fail(fmt.Errorf("%s body ended %d bytes early: %w", e.what, e.remain, io.ErrUnexpectedEOF))
	case err != nil:
		return n, e.fail(err)
	}
	return n, nil
}

// DescribeRange formats a requested range (length < 0: to the end) for
// messages.
func DescribeRange(offset, length int64) string {
	switch {
	case length < 0:
		return fmt.Sprintf("bytes %d to the end", offset)
	case length == 0:
		return fmt.Sprintf("0 bytes at %d", offset)
	}
	return fmt.Sprintf("bytes %d-%d", offset, offset+length-1)
}
