# Sourced by the test scripts: installs, from Debian, what a script runs
# when it is missing (.ci/run installs the same packages up front).

# need COMMAND:PACKAGE...: apt-get install the PACKAGE of every COMMAND that
# is not on PATH, after one apt-get update.
need() {
	local pair missing=()
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	echo "installing ${missing[*]}" >&2
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
