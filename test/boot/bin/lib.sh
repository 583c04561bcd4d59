# Shared by the boot test's guest scripts: result lines on the serial
# console that scripts/boot-test.sh parses.
#   LVSRS-BOOT PASS|FAIL NAME: detail
#   LVSRS-BOOT-SCORE UNIT EXPOSURE
#   LVSRS-BOOT-DONE ROLE
pass() { n=$1; shift; echo "LVSRS-BOOT PASS $n: $*"; }
fail() { n=$1; shift; echo "LVSRS-BOOT FAIL $n: $*"; FAILED=1; }
FAILED=0
check() { # NAME DETAIL COMMAND...: PASS when the command succeeds
	_name=$1 _detail=$2
	shift 2
	if "$@"; then pass "$_name" "$_detail"; else fail "$_name" "$_detail"; fi
}
prop() { systemctl show -P "$2" "$1"; }
# score UNIT MAX: systemd-analyze security's overall exposure, at most MAX.
score() {
	s=$(systemd-analyze security --no-pager "$1" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	echo "LVSRS-BOOT-SCORE $1 ${s:-unknown}"
	check "security-$1" "exposure ${s:-unknown}, at most $2" awk -v s="${s:-99}" -v m="$2" 'BEGIN { exit !(s + 0 <= m + 0) }'
}
