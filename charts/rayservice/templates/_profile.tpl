{{/*
The CPU profile, ported from rayctl/profiles.py line by line (`profile: cpu`, the `--profile cpu` of rayctl render):
the same worker groups, replica bounds, routes and placement shapes; no accelerator requests, selectors or
tolerations; the CPU image; every app on its CPU path (the per-type "forCpu" defines); resources scaled into
cpuProfile.budget with the same integer arithmetic (millicores, MiB).

  include "rayservice.cpuProfile" (dict "spec" FILLED_SPEC "doc" DEFAULTS "out" $out)  ->  $out.spec
*/}}
{{- define "rayservice.cpuProfile" -}}
{{- $spec := deepCopy .spec -}}
{{- $doc := .doc -}}
{{- $settings := $spec.cpuProfile -}}
{{- /* _scaled_resources: (count, cpu, memory) of the head, the autoscaler and each worker group */ -}}
{{- $pods := list (list 1 $spec.head.cpu $spec.head.memory) -}}
{{- if $spec.autoscaling.enabled -}}
  {{- $pods = append $pods (list 1 $spec.autoscaling.cpu $spec.autoscaling.memory) -}}
{{- end -}}
{{- range $group := $spec.workerGroups -}}
  {{- $pods = append $pods (list (mul $group.replicas $group.numOfHosts) $group.cpu $group.memory) -}}
{{- end -}}
{{- $counted := 0 -}}
{{- range $pod := $pods -}}{{- $counted = add $counted (index $pod 0) -}}{{- end -}}
{{- $cpu := dict "what" "cpu" "floor" $settings.minPodCpu "cap" $settings.maxPodCpu "budget" $settings.budget.cpu "units" "rayservice.millicores" "field" "Cpu" "index" 1 -}}
{{- $memory := dict "what" "memory" "floor" $settings.minPodMemory "cap" $settings.maxPodMemory "budget" $settings.budget.memory "units" "rayservice.mebibytes" "field" "Memory" "index" 2 -}}
{{- $shared := dict -}}
{{- range $axis := list $cpu $memory -}}
  {{- $floor := include $axis.units $axis.floor | atoi -}}
  {{- $budget := include $axis.units $axis.budget | atoi -}}
  {{- $cap := include $axis.units $axis.cap | atoi -}}
  {{- if lt $cap $floor -}}
    {{- fail (printf "cpuProfile.maxPod%s: %s is below cpuProfile.minPod%s (%s): raise cpuProfile.maxPod%s or lower cpuProfile.minPod%s" $axis.field $axis.cap $axis.field $axis.floor $axis.field $axis.field) -}}
  {{- end -}}
  {{- if gt (mul $counted $floor) $budget -}}
    {{- fail (printf "cpuProfile.budget.%s: %d Ray pods need at least %d x %s, but the budget is %s: raise cpuProfile.budget.%s, lower cpuProfile.minPod%s, or lower workerGroups[].replicas" $axis.what $counted $counted $axis.floor $axis.budget $axis.what $axis.field) -}}
  {{- end -}}
  {{- $sizes := list -}}
  {{- range $pod := $pods -}}
    {{- $sizes = append $sizes (list (index $pod 0) (include $axis.units (index $pod $axis.index) | atoi)) -}}
  {{- end -}}
  {{- $out := dict -}}
  {{- $_ := include "rayservice.shares" (dict "sizes" $sizes "budget" $budget "floor" $floor "out" $out) -}}
  {{- /* each share capped, so that no pod is too large for one node */ -}}
  {{- $capped := list -}}
  {{- range $share := $out.shares -}}{{- $capped = append $capped (min $share $cap) -}}{{- end -}}
  {{- $_ = set $shared $axis.what $capped -}}
{{- end -}}
{{- $cpus := list -}}
{{- range $millis := $shared.cpu -}}
  {{- $cpus = append $cpus (ternary (printf "%d" (div $millis 1000)) (printf "%dm" $millis) (eq (mod $millis 1000) 0)) -}}
{{- end -}}
{{- $memories := list -}}
{{- range $mib := $shared.memory -}}
  {{- $memories = append $memories (ternary (printf "%dGi" (div $mib 1024)) (printf "%dMi" $mib) (eq (mod $mib 1024) 0)) -}}
{{- end -}}
{{- $next := 0 -}}
{{- $head := $spec.head -}}
{{- $_ := set $head "cpu" (index $cpus $next) -}}
{{- $_ = set $head "memory" (index $memories $next) -}}
{{- $next = add $next 1 -}}
{{- $_ = set $head "image" nil -}}
{{- $_ = set $head "nodeSelector" (include "rayservice.offAccelerators" (dict "m" $head.nodeSelector "doc" $doc) | fromJson) -}}
{{- $_ = set $head "tolerations" (include "rayservice.offAcceleratorTolerations" (dict "l" $head.tolerations "doc" $doc) | fromJsonArray) -}}
{{- if $spec.autoscaling.enabled -}}
  {{- $_ = set $spec.autoscaling "cpu" (index $cpus $next) -}}
  {{- $_ = set $spec.autoscaling "memory" (index $memories $next) -}}
  {{- $next = add $next 1 -}}
{{- end -}}
{{- $ray := $spec.ray -}}
{{- $_ = set $ray "image" (coalesce $settings.image $ray.image) -}}
{{- /* A laptop has no Hugging Face Secret and needs none (small local models): start the pods without it. */ -}}
{{- range $secret := $ray.secretEnv -}}{{- $_ = set $secret "optional" true -}}{{- end -}}
{{- range $group := $spec.workerGroups -}}
  {{- /* _cpu_group: no accelerators, scaled resources, the same logical CPUs and memory for Ray */ -}}
  {{- $params := $group.rayStartParams -}}
  {{- $resources := $group.rayResources | default dict -}}
  {{- if $resources -}}
    {{- /* KubeRay refuses num-cpus/memory in rayStartParams next to a group's `resources` (and reads CPU and
         memory from there, whatever their case): say them in `resources` too */ -}}
    {{- $named := list -}}
    {{- range $key, $_v := $resources -}}{{- $named = append $named (lower $key) -}}{{- end -}}
    {{- if not (has "cpu" $named) -}}
      {{- $_ = set $resources "CPU" (include "rayservice.quantityCeil" $group.cpu) -}}
    {{- end -}}
    {{- if not (has "memory" $named) -}}
      {{- $_ = set $resources "memory" (include "rayservice.quantityFloor" $group.memory) -}}
    {{- end -}}
    {{- $_ = set $group "rayResources" $resources -}}
  {{- else -}}
  {{- if not (hasKey $params "num-cpus") -}}
    {{- $_ = set $params "num-cpus" (include "rayservice.quantityCeil" $group.cpu) -}}
  {{- end -}}
  {{- if not (hasKey $params "memory") -}}
    {{- $_ = set $params "memory" (include "rayservice.quantityFloor" $group.memory) -}}
  {{- end -}}
  {{- end -}}
  {{- $_ = set $group "gpus" 0 -}}
  {{- $_ = set $group "acceleratorType" nil -}}
  {{- $_ = set $group "image" nil -}}
  {{- $_ = set $group "cpu" (index $cpus $next) -}}
  {{- $_ = set $group "memory" (index $memories $next) -}}
  {{- $next = add $next 1 -}}
  {{- $_ = set $group "ephemeralStorage" nil -}}
  {{- $_ = set $group "nodeSelector" (include "rayservice.offAccelerators" (dict "m" $group.nodeSelector "doc" $doc) | fromJson) -}}
  {{- $_ = set $group "tolerations" (include "rayservice.offAcceleratorTolerations" (dict "l" $group.tolerations "doc" $doc) | fromJsonArray) -}}
{{- end -}}
{{- $apps := list -}}
{{- range $app := $spec.serve.applications -}}
  {{- $out := dict -}}
  {{- $_ = include (include "rayservice.app.hook" (dict "app" $app "hook" "forCpu")) (dict "app" $app "settings" $settings "doc" $doc "out" $out) -}}
  {{- $apps = append $apps $out.app -}}
{{- end -}}
{{- $_ = set $spec.serve "applications" $apps -}}
{{- $_ = set $spec "profile" "cpu" -}}
{{- $_ = set $spec "gcsFaultTolerance" nil -}}{{- /* no external Redis on a laptop */ -}}
{{- $_ = set .out "spec" $spec -}}
{{- end -}}

{{/*
_shares: scale every size by one factor so that sum(count x size) fits `budget`, no size below `floor` (all sizes
kept when they already fit); integers only: size x (budget - pinned) / free, rounded down.
*/}}
{{- define "rayservice.shares" -}}
{{- $sizes := .sizes -}}
{{- $budget := .budget -}}
{{- $floor := .floor -}}
{{- $total := 0 -}}
{{- range $s := $sizes -}}{{- $total = add $total (mul (index $s 0) (index $s 1)) -}}{{- end -}}
{{- $result := list -}}
{{- if le $total $budget -}}
  {{- range $s := $sizes -}}{{- $result = append $result (index $s 1) -}}{{- end -}}
{{- else -}}
  {{- $pinned := dict -}}
  {{- range $round := until (int (add (len $sizes) 2)) -}}
    {{- $room := $budget -}}
    {{- $free := 0 -}}
    {{- range $i, $s := $sizes -}}
      {{- if hasKey $pinned (toString $i) -}}
        {{- $room = sub $room (mul (index $s 0) $floor) -}}
      {{- else -}}
        {{- $free = add $free (mul (index $s 0) (index $s 1)) -}}
      {{- end -}}
    {{- end -}}
    {{- if or (eq $free 0) (le $room 0) -}}
      {{- $result = list -}}
      {{- range $s := $sizes -}}{{- $result = append $result $floor -}}{{- end -}}
      {{- break -}}
    {{- end -}}
    {{- $newly := list -}}
    {{- range $i, $s := $sizes -}}
      {{- if and (not (hasKey $pinned (toString $i))) (lt (div (mul (index $s 1) $room) $free) $floor) -}}
        {{- $newly = append $newly (toString $i) -}}
      {{- end -}}
    {{- end -}}
    {{- if not $newly -}}
      {{- $result = list -}}
      {{- range $i, $s := $sizes -}}
        {{- if hasKey $pinned (toString $i) -}}
          {{- $result = append $result $floor -}}
        {{- else -}}
          {{- $result = append $result (max $floor (div (mul (index $s 1) $room) $free)) -}}
        {{- end -}}
      {{- end -}}
      {{- break -}}
    {{- end -}}
    {{- range $i := $newly -}}{{- $_ := set $pinned $i true -}}{{- end -}}
  {{- end -}}
{{- end -}}
{{- $_ := set .out "shares" $result -}}
{{- end -}}

{{/* A nodeSelector without the keys that pin a pod to accelerator nodes (JSON, for fromJson). */}}
{{- define "rayservice.offAccelerators" -}}
{{- $kept := dict -}}
{{- range $key, $value := .m -}}
  {{- if not (regexMatch (printf "(?i)%s" $.doc.constants.acceleratorKeyPattern) $key) -}}
    {{- $_ := set $kept $key $value -}}
  {{- end -}}
{{- end -}}
{{- toJson $kept -}}
{{- end -}}

{{- define "rayservice.offAcceleratorTolerations" -}}
{{- $kept := list -}}
{{- range $toleration := .l -}}
  {{- if not (and $toleration.key (regexMatch (printf "(?i)%s" $.doc.constants.acceleratorKeyPattern) $toleration.key)) -}}
    {{- $kept = append $kept $toleration -}}
  {{- end -}}
{{- end -}}
{{- toJson $kept -}}
{{- end -}}
