#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_agent_unit.sh: the agent's deployment files.
#  - scripts/smolder-agent.service: `systemd-analyze verify` accepts it without a word
#    (a setting it ignores is only a warning to it, and exit code 0), with ExecStart
#    pointed at the binary under test; every capability it names exists (systemd drops
#    unknown names silently); it keeps what the brief asks for and none of the settings
#    that would blind the agent.
#  - scripts/daemonset.yaml: parses into a DaemonSet with what the agent needs (with
#    python3's yaml module; without it, a structural grep, said so).
# Needs neither root nor BPF. Exits 77 when systemd-analyze is missing (after checking
# the DaemonSet).
. "$TESTLIB"

[[ -n ${SMOLDER:-} && -x $SMOLDER ]] || t_fail "SMOLDER is not set or not executable"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolder-$T_NAME.XXXXXX") || t_fail "mktemp failed"
trap 't_cleanup' EXIT
SCRIPTS=$(cd "$(dirname "$TESTLIB")/../../scripts" && pwd)
UNIT=$SCRIPTS/smolder-agent.service
DS=$SCRIPTS/daemonset.yaml
[[ -f $UNIT ]] || t_fail "missing $UNIT"
[[ -f $DS ]] || t_fail "missing $DS"

# unit_values KEY: the values of every KEY= line of the unit, one word a line.
unit_values() { sed -n "s/^$1=//p" "$UNIT" | tr ' ' '\n' | sed '/^$/d'; }

check_unit_verify() {
	local unit=$WORK/units/smolder-agent.service
	mkdir -p "$WORK/units"
	# The unit names the installed binary, which a test machine may not have.
	awk -v bin="$SMOLDER" '
		index($0, "ExecStart=/usr/local/bin/smolder ") == 1 {
			$0 = "ExecStart=" bin substr($0, length("ExecStart=/usr/local/bin/smolder") + 1)
			n++
		}
		{ print }
		END { exit n != 1 }' "$UNIT" >"$unit" ||
		t_fail "expected one ExecStart=/usr/local/bin/smolder line in $UNIT"
	grep -qxF "ExecStart=$SMOLDER agent --store /var/lib/smolder" "$unit" ||
		t_fail "ExecStart is not 'smolder agent --store /var/lib/smolder': $(grep ^ExecStart= "$unit")"
	T_LAST_CMD="systemd-analyze verify --man=no $unit"
	T_LAST_STDERR=$WORK/verify.out
	systemd-analyze verify --man=no "$unit" >"$T_LAST_STDERR" 2>&1
	RC=$?
	(( RC == 0 )) || t_fail "systemd-analyze verify rejects the unit"
	[[ ! -s $T_LAST_STDERR ]] || t_fail "systemd-analyze verify has warnings about the unit"
	t_log "ok: systemd-analyze verify accepts the unit ($(systemd-analyze --version | head -n 1))"
}

check_unit_settings() {
	local cap header=/usr/include/linux/capability.h ambient bounding
	ambient=$(unit_values AmbientCapabilities | sort)
	bounding=$(unit_values CapabilityBoundingSet | sort)
	[[ $ambient == "$bounding" ]] ||
		t_fail "AmbientCapabilities and CapabilityBoundingSet differ: '$ambient' vs '$bounding'"
	for cap in CAP_BPF CAP_PERFMON CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_DAC_READ_SEARCH \
		CAP_SYSLOG CAP_SYS_RESOURCE; do
		grep -qxF "$cap" <<<"$ambient" || t_fail "the unit does not grant $cap"
	done
	if [[ -f $header ]]; then
		for cap in $ambient; do
			grep -qE "^#define $cap[[:space:]]" "$header" ||
				t_fail "the unit names $cap, which $header does not define"
		done
		t_log "ok: every capability the unit names exists ($(wc -w <<<"$ambient"))"
	else
		t_log "note: $header missing (linux-libc-dev): capability names not checked"
	fi

	# What the brief asks for.
	local want
	for want in Restart=on-failure StateDirectory=smolder NoNewPrivileges=yes \
		ProtectSystem=strict ProtectHome=read-only PrivateTmp=yes MemoryMax=300M \
		LimitMEMLOCK=infinity; do
		grep -qxF "$want" "$UNIT" || t_fail "the unit lacks $want"
	done
	grep -qE '^ReadWritePaths=(.* )?/var/lib/smolder( |$)' "$UNIT" ||
		t_fail "the unit does not make the store /var/lib/smolder writable"
	# What would blind the agent: /proc/kallsyms hidden, other processes hidden, its
	# capabilities confined to a user namespace of its own.
	local bad
	bad=$(grep -nE '^(ProtectKernelTunables=(yes|true|on|1)|ProtectProc=(invisible|noaccess)|ProcSubset=pid|PrivateUsers=(yes|true|on|1)|PrivateNetwork=(yes|true|on|1))$' "$UNIT")
	[[ -z $bad ]] || t_fail "the unit hides what the agent reads: $bad"
	t_log "ok: the unit's capabilities and hardening"
}

# check_daemonset_yaml: with python3's yaml module; the checks print "FAIL: ..." lines.
check_daemonset_yaml() {
	local out
	out=$(python3 - "$DS" <<-'EOF'
		import sys, yaml
		fails = []
		def check(ok, what):
		    if not ok:
		        fails.append(what)
		docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
		ds = [d for d in docs if d.get("kind") == "DaemonSet"]
		check(len(ds) == 1, "one DaemonSet")
		ds = ds[0] if ds else {}
		check(ds.get("apiVersion") == "apps/v1", "apiVersion apps/v1")
		spec = ds.get("spec", {})
		tmpl = spec.get("template", {})
		labels = tmpl.get("metadata", {}).get("labels", {})
		sel = spec.get("selector", {}).get("matchLabels", {})
		check(sel and all(labels.get(k) == v for k, v in sel.items()),
		      "the selector matches the pod template's labels")
		pod = tmpl.get("spec", {})
		check(pod.get("hostPID") is True, "hostPID: true")
		cs = pod.get("containers", [])
		check(len(cs) == 1, "one container")
		c = cs[0] if cs else {}
		argv = [str(a) for a in c.get("command", []) + c.get("args", [])]
		check("agent" in argv, "runs smolder agent")
		def flag(name):
		    return argv[argv.index(name) + 1] if name in argv[:-1] else None
		store, listen = flag("--store"), flag("--listen")
		check(store == "/var/lib/smolder", "--store /var/lib/smolder")
		check(listen is not None and listen.startswith("127.0.0.1:"), "--listen 127.0.0.1:PORT")
		caps = set(c.get("securityContext", {}).get("capabilities", {}).get("add", []))
		need = {"PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH", "SYSLOG", "SYS_RESOURCE"}
		check(need <= caps, "capabilities %s (has %s)" % (sorted(need), sorted(caps)))
		check("BPF" in caps or "SYS_ADMIN" in caps, "capability BPF (or SYS_ADMIN)")
		check(not c.get("securityContext", {}).get("privileged"), "not privileged")
		probe = c.get("livenessProbe", {}).get("httpGet", {})
		check(probe.get("path") == "/healthz", "a liveness probe on /healthz")
		if listen:
		    check(str(probe.get("port")) == listen.rsplit(":", 1)[1],
		          "the probe's port is the --listen port")
		# The kubelet reaches 127.0.0.1 of the pod only in the node's network namespace.
		if listen and listen.startswith("127.0.0.1:"):
		    check(pod.get("hostNetwork") is True and probe.get("host") == "127.0.0.1",
		          "a probe that reaches 127.0.0.1 (hostNetwork: true, host: 127.0.0.1)")
		res = c.get("resources", {})
		check("memory" in res.get("limits", {}) and "memory" in res.get("requests", {}),
		      "memory requests and limits")
		mounts = {m.get("name"): m for m in c.get("volumeMounts", [])}
		host = {v.get("name"): v.get("hostPath", {}).get("path") for v in pod.get("volumes", [])}
		def mounted(path, readonly):
		    for name, m in mounts.items():
		        if host.get(name) == path:
		            return bool(m.get("readOnly")) == readonly and \
		                (path != "/var/lib/smolder" or m.get("mountPath") == store)
		    return False
		check(mounted("/var/lib/smolder", False), "the store on hostPath /var/lib/smolder, writable")
		check(mounted("/sys/fs/cgroup", True), "hostPath /sys/fs/cgroup, read-only")
		check(mounted("/sys/kernel/btf", True), "hostPath /sys/kernel/btf, read-only")
		check(all(m.get("name") in host for m in mounts.values()), "every mount has a volume")
		for f in fails:
		    print("FAIL: " + f)
		EOF
	) || t_fail "scripts/daemonset.yaml does not parse: $out"
	[[ -z $out ]] || t_fail "scripts/daemonset.yaml: $(tr '\n' ';' <<<"$out")"
	t_log "ok: scripts/daemonset.yaml parses into the DaemonSet the agent needs"
}

# check_daemonset_grep: without a YAML parser, the structure as text.
check_daemonset_grep() {
	local want
	t_log "note: python3 has no yaml module: scripts/daemonset.yaml checked by grep only"
	for want in '^kind: DaemonSet$' '^ *hostPID: true$' '^ *path: /healthz$' \
		'^ *- --listen$' '^ *- 127\.0\.0\.1:[0-9]+$' '^ *- (BPF|SYS_ADMIN)( |$)' \
		'^ *- PERFMON( |$)' '^ *- SYS_PTRACE( |$)' '^ *path: /sys/fs/cgroup$' \
		'^ *path: /sys/kernel/btf$' '^ *path: /var/lib/smolder$'; do
		grep -qE "$want" "$DS" || t_fail "scripts/daemonset.yaml has no line matching $want"
	done
	t_log "ok: scripts/daemonset.yaml has the expected structure (grep)"
}

check_daemonset() {
	# YAML forbids tabs in indentation.
	! grep -qP '^ *\t' "$DS" || t_fail "scripts/daemonset.yaml indents with tabs"
	if python3 -c 'import yaml' 2>/dev/null; then
		check_daemonset_yaml
	else
		check_daemonset_grep
	fi
}

t_case daemonset check_daemonset
t_case unit-settings check_unit_settings
if command -v systemd-analyze >/dev/null; then
	t_case unit-verify check_unit_verify
	t_finish
fi
(( ${#T_CASES_FAILED[@]} == 0 )) || t_finish
t_skip "systemd-analyze not found: the unit was not verified (the other checks passed)"
