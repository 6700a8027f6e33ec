{{/*
Names, labels and the RayService layout. The layout helpers are the twins of the Jinja macros in
rayctl/render/templates/_helpers.j2 (`rayservice.<macro>` for each macro there), so both front doors lay out
identical objects; the values come computed from templates/_context.tpl, and a helper only places fields. Output
starts at column 0; callers indent it with `nindent`.
*/}}

{{/* The RayService name: the spec's `name` (at most 47 characters; DNS names are cut at 63 anyway). */}}
{{- define "rayservice.name" -}}
{{- .spec.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Service KubeRay creates for the Serve endpoint once every application is RUNNING. */}}
{{- define "rayservice.serveService" -}}
{{- printf "%s-serve-svc" .spec.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* A name derived from the RayService name (`<name>-<suffix>`), cut to 63 characters. */}}
{{- define "rayservice.childName" -}}
{{- printf "%s-%s" (index . 0).spec.name (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* app.kubernetes.io labels and the spec's labels: top-level metadata only (pod templates carry none of them). */}}
{{- define "rayservice.labels" -}}
{{- include "rayservice.ctx.topLabels" . | fromJson | toYaml -}}
{{- end -}}

{{/* Whether a value gets rendered by `optional`: not nil, not an empty map or list (0 and false do). */}}
{{- define "rayservice.present" -}}
{{- if not (or (kindIs "invalid" .) (and (kindIs "map" .) (eq (len .) 0)) (and (kindIs "slice" .) (eq (len .) 0))) -}}true{{- end -}}
{{- end -}}

{{/* field(key, value): `key: value`, or `key:` plus an indented block for a non-empty map or list. */}}
{{- define "rayservice.field" -}}
{{- $key := index . 0 -}}
{{- $value := index . 1 -}}
{{- if and (or (kindIs "map" $value) (kindIs "slice" $value)) (gt (len $value) 0) -}}
{{ $key }}:{{ toYaml $value | nindent 2 }}
{{- else -}}
{{ $key }}: {{ toYaml $value }}
{{- end -}}
{{- end -}}

{{/* optional(key, value): a newline and the field, unless the value is nil or empty. */}}
{{- define "rayservice.optional" -}}
{{- if include "rayservice.present" (index . 1) }}
{{ include "rayservice.field" . }}
{{- end -}}
{{- end -}}

{{- define "rayservice.rayContainer" -}}
{{ include "rayservice.field" (list "name" .name) }}
{{ include "rayservice.field" (list "image" .image) }}
{{ include "rayservice.field" (list "imagePullPolicy" .imagePullPolicy) }}
{{- include "rayservice.optional" (list "ports" .ports) }}
{{ include "rayservice.field" (list "resources" .resources) }}
{{- include "rayservice.optional" (list "env" .env) }}
{{- include "rayservice.optional" (list "volumeMounts" .volumeMounts) }}
{{- end -}}

{{- define "rayservice.podTemplate" -}}
{{- if or .labels .annotations -}}
metadata:
{{- if .labels }}
  {{- include "rayservice.field" (list "labels" .labels) | nindent 2 }}
{{- end }}
{{- if .annotations }}
  {{- include "rayservice.field" (list "annotations" .annotations) | nindent 2 }}
{{- end }}
{{ else -}}
{{- /* rayctl's podTemplate macro: the operator's Go round-trip writes `metadata: {}`, and a list it changed would
       become co-owned by kuberay-operator (the next server-side apply would conflict). */ -}}
metadata: {}
{{ end -}}
spec:
{{- if .serviceAccountName }}
  {{- include "rayservice.field" (list "serviceAccountName" .serviceAccountName) | nindent 2 }}
{{- end }}
{{- if .imagePullSecrets }}
  {{- include "rayservice.field" (list "imagePullSecrets" .imagePullSecrets) | nindent 2 }}
{{- end }}
{{- if .nodeSelector }}
  {{- include "rayservice.field" (list "nodeSelector" .nodeSelector) | nindent 2 }}
{{- end }}
{{- if .tolerations }}
  {{- include "rayservice.field" (list "tolerations" .tolerations) | nindent 2 }}
{{- end }}
{{- if not (kindIs "invalid" .terminationGracePeriodSeconds) }}
  {{- include "rayservice.field" (list "terminationGracePeriodSeconds" .terminationGracePeriodSeconds) | nindent 2 }}
{{- end }}
  containers:
    - {{ include "rayservice.rayContainer" .container | indent 6 | trim }}
{{- if .volumes }}
  {{- include "rayservice.field" (list "volumes" .volumes) | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "rayservice.headGroupSpec" -}}
{{- if .serviceType -}}
{{ include "rayservice.field" (list "serviceType" .serviceType) }}
{{ end -}}
{{ include "rayservice.field" (list "rayStartParams" .rayStartParams) }}
template:
  {{- include "rayservice.podTemplate" .template | nindent 2 }}
{{- end -}}

{{- define "rayservice.workerGroupSpec" -}}
{{ include "rayservice.field" (list "groupName" .groupName) }}
{{ include "rayservice.field" (list "replicas" .replicas) }}
{{ include "rayservice.field" (list "minReplicas" .minReplicas) }}
{{ include "rayservice.field" (list "maxReplicas" .maxReplicas) }}
{{ include "rayservice.field" (list "numOfHosts" .numOfHosts) }}
{{- include "rayservice.optional" (list "idleTimeoutSeconds" .idleTimeoutSeconds) }}
{{ include "rayservice.field" (list "rayStartParams" .rayStartParams) }}
{{- /* The operator writes `scaleStrategy: {}` into every group (a plain update) and so co-owns the atomic
       workerGroupSpecs list; rendering the same value keeps a repeated server-side apply conflict-free. */}}
scaleStrategy: {}
{{- include "rayservice.optional" (list "resources" .resources) }}
template:
  {{- include "rayservice.podTemplate" .template | nindent 2 }}
{{- end -}}

{{- define "rayservice.rayClusterConfig" -}}
{{ include "rayservice.field" (list "rayVersion" .rayVersion) }}
{{- if .autoscalerOptions }}
enableInTreeAutoscaling: true
{{ include "rayservice.field" (list "autoscalerOptions" .autoscalerOptions) }}
{{- end }}
{{- include "rayservice.optional" (list "gcsFaultToleranceOptions" .gcsFaultToleranceOptions) }}
headGroupSpec:
  {{- include "rayservice.headGroupSpec" .headGroupSpec | nindent 2 }}
{{- if .workerGroupSpecs }}
workerGroupSpecs:
{{- range $g := .workerGroupSpecs }}
  - {{ include "rayservice.workerGroupSpec" $g | indent 4 | trim }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "rayservice.rayserviceSpec" -}}
{{ include "rayservice.field" (list "upgradeStrategy" .upgradeStrategy) }}
{{- if .excludeHeadPodFromServeSvc }}
excludeHeadPodFromServeSvc: true
{{- end }}
serveConfigV2: |
  {{- toYaml .serveConfigV2 | nindent 2 }}
rayClusterConfig:
  {{- include "rayservice.rayClusterConfig" . | nindent 2 }}
{{- end -}}

{{/*
The spec-hash label: sha256 over the rendered RayService spec (serveConfigV2 parsed), as Helm's toJson writes it;
rayctl computes the same (rayctl/render/context.py spec_hash).
*/}}
{{- define "rayservice.specHash" -}}
{{- $spec := fromYaml . -}}
{{- if hasKey $spec "Error" -}}{{- fail (printf "internal error: the rendered RayService spec is not YAML: %s" $spec.Error) -}}{{- end -}}
{{- $_ := set $spec "serveConfigV2" (fromYaml $spec.serveConfigV2) -}}
{{- $spec | toJson | sha256sum | trunc 12 -}}
{{- end -}}

{{/* rayctl/monitoring/common.py metadata: (list name namespace labels annotations) -> JSON. */}}
{{- define "rayservice.objectMeta" -}}
{{- $meta := dict "name" (index . 0) -}}
{{- with index . 1 -}}{{- $_ := set $meta "namespace" . -}}{{- end -}}
{{- with index . 2 -}}{{- $_ := set $meta "labels" . -}}{{- end -}}
{{- with index . 3 -}}{{- $_ := set $meta "annotations" . -}}{{- end -}}
{{- toJson $meta -}}
{{- end -}}

{{/*
A one-line string as PyYAML's safe_dump writes it in block context (what rayctl writes into ConfigMap payloads):
plain unless it is empty, has leading/trailing spaces, starts with an indicator, holds ": " / " #" / a final ":",
or would read back as another type under YAML 1.1 (bool, null, int, float, timestamp, `<<`, `=`); else single-quoted
with ' doubled. (Strings PyYAML double-quotes, with control characters or line breaks, never reach here: job names
and namespaces.)
*/}}
{{- define "rayservice.pyyamlScalar" -}}
{{- $v := toString . -}}
{{- $implicit := "^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|~|null|Null|NULL|<<|=|[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?|\\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN)|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+|[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \\t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\\.[0-9]*)?(?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$" -}}
{{- $plain := and (ne $v "") (not (regexMatch "^[ ]|[ ]$" $v)) (not (regexMatch "^[-?:,\\[\\]{}#&*!|>'\"%@`]" $v)) (not (regexMatch ": |:$| #" $v)) (not (regexMatch "^(?:---|\\.\\.\\.)" $v)) (not (regexMatch $implicit $v)) -}}
{{- if regexMatch "^[-?:][^ ]" $v -}}{{- /* `-x`, `?x`, `:x`: an indicator only when followed by a space */ -}}
  {{- $plain = and (not (regexMatch " $" $v)) (not (regexMatch ": |:$| #" $v)) (not (regexMatch "^(?:---|\\.\\.\\.)" $v)) (not (regexMatch $implicit $v)) -}}
{{- end -}}
{{- if $plain -}}{{- $v -}}{{- else -}}'{{- replace "'" "''" $v -}}'{{- end -}}
{{- end -}}
