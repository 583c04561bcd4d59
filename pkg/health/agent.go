package health

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxAgentLine is the longest agent answer read.
const maxAgentLine = 1024

// maxAgentWeight is the largest "weight:N" an agent may ask for: the
// largest weight a real server may be configured with. IPVS keeps weights
// as a signed 32-bit int, so a larger number would be refused by the
// kernel (ERANGE, failing the whole pass) or wrap around; an answer with
// one is invalid rather than clamped, as HAProxy refuses an absolute
// weight out of its range and as the configuration refuses one too: a
// number that large is an agent bug, and clamping it would hand that
// server nearly all the traffic.
const maxAgentWeight = 65535

// probeAgent speaks HAProxy's agent-check protocol: connect to the check
// port and read one line of words (see parseAgent).
func probeAgent(ctx context.Context, t Target) Result {
	c, stop, err := dial(ctx, "tcp", t)
	if err != nil {
		return failure("connect", err, t.Spec.Timeout)
	}
	defer c.Close()
	defer stop()
	line, err := bufio.NewReaderSize(io.LimitReader(c, maxAgentLine), maxAgentLine).ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return failure("read agent line", err, t.Spec.Timeout)
	}
	return parseAgent(line)
}

// parseAgent reads an agent line: words separated by spaces, tabs or
// commas, and after "#" a free-text reason. State words: up, ready; down,
// fail, stopped, maint (down wins over up). Weight words: "NN%" (a
// percentage of the configured weight), "weight:N" (an absolute weight,
// 0..maxAgentWeight), drain (0%). A line with a weight but no state word
// passes; a line with neither fails; a line whose "weight:N" is a number
// out of range fails unless it says down. Unknown words are ignored, as
// HAProxy does.
func parseAgent(line string) Result {
	line = strings.TrimSpace(line)
	words, note, _ := strings.Cut(line, "#")
	var up, down, drain, bad bool
	var w Weight
	for word := range strings.FieldsFuncSeq(strings.ToLower(words), func(r rune) bool {
		return r == ' ' || r == '\t' || r == ','
	}) {
		switch {
		case word == "up" || word == "ready":
			up = true
		case word == "down" || word == "fail" || word == "stopped" || word == "maint":
			down = true
		case word == "drain":
			drain = true
		case strings.HasSuffix(word, "%"):
			if n, err := strconv.Atoi(strings.TrimSuffix(word, "%")); err == nil && n >= 0 && n <= 1000 {
				w = Weight{Kind: WeightPercent, Value: n}
			}
		case strings.HasPrefix(word, "weight:"):
			n, ok, inRange := agentWeight(strings.TrimPrefix(word, "weight:"))
			bad = bad || (ok && !inRange)
			if ok && inRange {
				w = Weight{Kind: WeightAbsolute, Value: n}
			}
		}
	}
	if drain {
		w = Weight{Kind: WeightPercent, Value: 0}
	}
	reason := fmt.Sprintf("agent: %q", line)
	if note = strings.TrimSpace(note); note != "" {
		reason = fmt.Sprintf("agent: %s (%s)", strings.TrimSpace(words), note)
	}
	switch {
	case down:
		return Result{Reason: reason}
	case bad:
		return Result{Reason: fmt.Sprintf("agent: weight out of range 0..%d in %q", maxAgentWeight, line)}
	case up || w.Kind != WeightNone:
		return Result{Up: true, Reason: reason, Weight: w}
	}
	return Result{Reason: fmt.Sprintf("agent: no state or weight in %q", line)}
}

// agentWeight parses the N of "weight:N": ok when s is a number (even one
// too large for an int), inRange when it is 0..maxAgentWeight.
func agentWeight(s string) (n int, ok, inRange bool) {
	n, err := strconv.Atoi(s)
	if errors.Is(err, strconv.ErrRange) {
		return 0, true, false
	}
	if err != nil {
		return 0, false, false
	}
	return n, true, n >= 0 && n <= maxAgentWeight
}
