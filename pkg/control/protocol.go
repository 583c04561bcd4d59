package control

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version this package speaks. A request with
// another version is answered with an error naming both.
const Version = 1

// SocketName is the control socket's file name in the state directory.
const SocketName = "control.sock"

// Line limits. A request is small; a status response carries about
// 220 bytes per real server, 2.2 MB for 10,000 of them, and the limit
// leaves room for 30 times that while bounding what a client reads.
const (
	maxRequest  = 1 << 20
	maxResponse = 64 << 20
)

// Operations.
const (
	opStatus = "status"
	opDrain  = "drain"
	opEnable = "enable"
)

// request is the one line a client sends.
type request struct {
	Version int           `json:"version"`
	Op      string        `json:"op"`
	Drain   *DrainRequest `json:"drain,omitempty"`
}

// response is the one line the server answers.
type response struct {
	Version int          `json:"version"`
	Error   string       `json:"error,omitempty"`
	Code    string       `json:"code,omitempty"`
	Status  *Status      `json:"status,omitempty"`
	Drain   *DrainResult `json:"drain,omitempty"`
}

// Error codes carried in a response.
const (
	codeBadRequest = "bad_request"
	codeNotFound   = "not_found"
	codeFailed     = "failed"
)

var (
	// ErrNotRunning: no daemon answers on the control socket.
	ErrNotRunning = errors.New("no lvs-rs run is active")
	// ErrAlreadyRunning: Listen found another daemon answering.
	ErrAlreadyRunning = errors.New("another lvs-rs run is active")
	// ErrNotFound: a Handler returns it (wrapped) when a DrainRequest
	// matches no real server; the client's error then matches it too.
	ErrNotFound = errors.New("no such real server")
	// ErrBadRequest: the server could not understand the request.
	ErrBadRequest = errors.New("bad control request")
)

// RemoteError is an error the daemon answered with.
type RemoteError struct {
	// Code classifies the error: "bad_request", "not_found" or "failed".
	Code string
	// Message is the daemon's error text.
	Message string
}

func (e *RemoteError) Error() string { return e.Message }

// Unwrap maps the code to ErrBadRequest or ErrNotFound.
func (e *RemoteError) Unwrap() error {
	switch e.Code {
	case codeBadRequest:
		return ErrBadRequest
	case codeNotFound:
		return ErrNotFound
	}
	return nil
}

// readLine reads one newline-terminated line of at most limit bytes.
func readLine(r io.Reader, limit int) ([]byte, error) {
	br := bufio.NewReader(io.LimitReader(r, int64(limit)+1))
	line, err := br.ReadBytes('\n')
	if err == nil {
		return line, nil
	}
	if len(line) > limit {
		return nil, fmt.Errorf("line longer than %d bytes", limit)
	}
	if errors.Is(err, io.EOF) && len(line) > 0 {
		return nil, errors.New("line not terminated by a newline")
	}
	return nil, err
}

// writeLine writes v as one line of JSON.
func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
