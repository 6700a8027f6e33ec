{{/*
Spec -> the values the layout helpers place, ported from rayctl/render/context.py function by function (every
decision lives here; _helpers.tpl only places fields). Keys are the Kubernetes field names, values are final
(quantities as strings), and a key whose value is nil or empty is left out by the layout.

  include "rayservice.context" (list $ $ctx)  ->  $ctx.spec (filled, profile applied), $ctx.profile,
                                                  $ctx.serveConfig, $ctx.rs (RayService), $ctx.ingresses, $ctx.doc
Every template starts with it; it fails with rayctl's message when the values are not a valid spec.
*/}}
{{- define "rayservice.context" -}}
{{- $root := index . 0 -}}
{{- $ctx := index . 1 -}}
{{- /* Computed once per render: every template file needs it, and Helm shares one values map between a chart's
       templates, so the first one leaves it there (under a key no spec has; `fill` never sees it). */ -}}
{{- $shared := $root.Values.AsMap -}}
{{- if not (hasKey $shared "rayctl.dev/context") -}}
  {{- $computed := dict -}}
  {{- $_ := include "rayservice.computeContext" (list $root $computed) -}}
  {{- $_ = set $shared "rayctl.dev/context" $computed -}}
{{- end -}}
{{- range $key, $value := index $shared "rayctl.dev/context" -}}{{- $_ := set $ctx $key $value -}}{{- end -}}
{{- end -}}

{{- define "rayservice.computeContext" -}}
{{- $root := index . 0 -}}
{{- $ctx := index . 1 -}}
{{- $doc := $root.Files.Get "files/defaults.json" | mustFromJson -}}
{{- $filled := dict -}}
{{- $values := omit $root.Values.AsMap "global" "rayctl.dev/context" -}}
{{- $_ := include "rayservice.fill" (dict "v" $values "t" (dict "k" "model" "m" $doc.root) "path" "" "doc" $doc "out" $filled) -}}
{{- $spec := $filled.v -}}
{{- $_ = include "rayservice.validateSpec" (dict "spec" $spec "doc" $doc) -}}
{{- $profile := $spec.profile -}}
{{- if eq (toString $profile) "cpu" -}}
  {{- $out := dict -}}
  {{- $_ = include "rayservice.cpuProfile" (dict "spec" $spec "doc" $doc "out" $out) -}}
  {{- $spec = $out.spec -}}
{{- end -}}
{{- $serve := dict -}}
{{- $_ = include "rayservice.serveConfig" (dict "spec" $spec "profile" $profile "doc" $doc "out" $serve) -}}
{{- $_ = set $ctx "doc" $doc -}}
{{- $_ = set $ctx "spec" $spec -}}
{{- $_ = set $ctx "profile" $profile -}}
{{- $_ = set $ctx "serveConfig" $serve.config -}}
{{- $_ = set $ctx "managedBy" $root.Release.Service -}}
{{- $_ = set $ctx "rs" (include "rayservice.ctx.rayservice" $ctx | fromJson) -}}
{{- $_ = include "rayservice.validateRendered" $ctx -}}
{{- $_ = set $ctx "ingresses" (include "rayservice.ctx.ingresses" $ctx | fromJsonArray) -}}
{{- end -}}

{{/* top_labels: on every top-level object (never on pod templates: KubeRay hashes the whole cluster spec). */}}
{{- define "rayservice.ctx.topLabels" -}}
{{- $labels := deepCopy .spec.labels -}}
{{- $_ := set $labels "app.kubernetes.io/name" .spec.name -}}
{{- $_ = set $labels "app.kubernetes.io/managed-by" .managedBy -}}
{{- toJson $labels -}}
{{- end -}}

{{/* ray_env: plain values first (sorted by name), then the Secret references. */}}
{{- define "rayservice.ctx.rayEnv" -}}
{{- $plain := dict -}}
{{- if .spec.serve.highThroughput -}}{{- $plain = deepCopy .doc.constants.highThroughputEnv -}}{{- end -}}
{{- range $key, $value := .spec.ray.env -}}{{- $_ := set $plain $key $value -}}{{- end -}}
{{- $env := list -}}
{{- range $key := keys $plain | sortAlpha -}}
  {{- $env = append $env (dict "name" $key "value" (index $plain $key)) -}}
{{- end -}}
{{- range $item := .spec.ray.secretEnv -}}
  {{- $ref := dict "name" $item.secretName "key" $item.key -}}
  {{- if $item.optional -}}{{- $_ := set $ref "optional" true -}}{{- end -}}
  {{- $env = append $env (dict "name" $item.name "valueFrom" (dict "secretKeyRef" $ref)) -}}
{{- end -}}
{{- toJson $env -}}
{{- end -}}

{{/* resources: request == limit (Guaranteed QoS; GPUs must have request == limit anyway). */}}
{{- define "rayservice.ctx.resources" -}}
{{- $amounts := dict "cpu" (index . 0) "memory" (index . 1) -}}
{{- range $key, $value := (index . 2) -}}{{- $_ := set $amounts $key $value -}}{{- end -}}
{{- toJson (dict "requests" $amounts "limits" $amounts) -}}
{{- end -}}

{{- define "rayservice.ctx.rayContainer" -}}
{{- toJson (dict "name" .name "image" .image "imagePullPolicy" .ctx.spec.ray.imagePullPolicy "ports" .ports "env" (include "rayservice.ctx.rayEnv" .ctx | fromJsonArray) "resources" .resources "volumeMounts" .volumeMounts) -}}
{{- end -}}

{{- define "rayservice.ctx.podTemplate" -}}
{{- $ray := .ctx.spec.ray -}}
{{- $secrets := list -}}
{{- range $name := $ray.imagePullSecrets -}}{{- $secrets = append $secrets (dict "name" $name) -}}{{- end -}}
{{- $tolerations := list -}}
{{- range $t := .tolerations -}}{{- $tolerations = append $tolerations (include "rayservice.dropNone" $t | fromJson) -}}{{- end -}}
{{- toJson (dict "labels" .labels "annotations" .annotations "serviceAccountName" $ray.serviceAccountName "imagePullSecrets" $secrets "nodeSelector" .nodeSelector "tolerations" $tolerations "terminationGracePeriodSeconds" .terminationGracePeriodSeconds "container" .container "volumes" .volumes) -}}
{{- end -}}

{{/* cpu_image / accelerator_image of RaySettings */}}
{{- define "rayservice.ctx.cpuImage" -}}
{{- .spec.ray.image | default (printf .doc.constants.cpuImage .spec.ray.version) -}}
{{- end -}}
{{- define "rayservice.ctx.gpuImage" -}}
{{- .spec.ray.gpuImage | default (printf .doc.constants.gpuImage .spec.ray.version) -}}
{{- end -}}

{{/* rayctl.monitoring container_metrics_ports: (list ctx "head"|"worker") -> JSON list */}}
{{- define "rayservice.ctx.metricsPorts" -}}
{{- $ctx := index . 0 -}}
{{- toJson (index $ctx.doc.constants.metricsPorts (printf "%s%s" (index . 1) (ternary "HighThroughput" "" (eq (toString $ctx.spec.serve.highThroughput) "true")))) -}}
{{- end -}}

{{/* rayctl.monitoring pod_selector_labels: they win over the spec's pod labels, as in rayctl */}}
{{- define "rayservice.ctx.podSelectorLabels" -}}
{{- $labels := dict -}}
{{- range $key, $value := .doc.constants.podSelectorLabels -}}
  {{- $_ := set $labels $key (ternary $.spec.name $value (eq $value "%s")) -}}
{{- end -}}
{{- toJson $labels -}}
{{- end -}}

{{- define "rayservice.ctx.headGroup" -}}
{{- $head := .spec.head -}}
{{- $ports := concat .doc.constants.headPorts (list (dict "containerPort" .spec.serve.httpPort "name" "serve")) (include "rayservice.ctx.metricsPorts" (list . "head") | fromJsonArray) -}}
{{- $container := include "rayservice.ctx.rayContainer" (dict "ctx" . "name" "ray-head" "image" ($head.image | default (include "rayservice.ctx.cpuImage" .)) "ports" $ports "resources" (include "rayservice.ctx.resources" (list $head.cpu $head.memory (dict)) | fromJson) "volumeMounts" (list)) | fromJson -}}
{{- $params := deepCopy .doc.constants.headStartParams -}}
{{- range $key, $value := $head.rayStartParams -}}{{- $_ := set $params $key $value -}}{{- end -}}
{{- $labels := merge (include "rayservice.ctx.podSelectorLabels" . | fromJson) $head.labels -}}
{{- $template := include "rayservice.ctx.podTemplate" (dict "ctx" . "labels" $labels "annotations" $head.annotations "nodeSelector" $head.nodeSelector "tolerations" $head.tolerations "container" $container "volumes" (list)) | fromJson -}}
{{- toJson (dict "serviceType" $head.serviceType "rayStartParams" $params "template" $template) -}}
{{- end -}}

{{- define "rayservice.ctx.workerGroup" -}}
{{- $ctx := .ctx -}}
{{- $group := .group -}}
{{- $gpus := int64 $group.gpus -}}
{{- $extra := dict -}}
{{- if gt $gpus 0 -}}{{- $_ := set $extra $group.gpuResourceName (printf "%d" $gpus) -}}{{- end -}}
{{- if $group.ephemeralStorage -}}{{- $_ := set $extra "ephemeral-storage" $group.ephemeralStorage -}}{{- end -}}
{{- $volumes := list -}}
{{- $mounts := list -}}
{{- if gt $gpus 0 -}}
  {{- /* vLLM/NCCL exchange tensors through /dev/shm; the container default (64Mi) is far too small. */ -}}
  {{- $mounts = append $mounts (dict "name" "dshm" "mountPath" "/dev/shm") -}}
  {{- $volumes = append $volumes (dict "name" "dshm" "emptyDir" (dict "medium" "Memory")) -}}
{{- end -}}
{{- $image := $group.image | default (ternary (include "rayservice.ctx.gpuImage" $ctx) (include "rayservice.ctx.cpuImage" $ctx) (gt $gpus 0)) -}}
{{- $container := include "rayservice.ctx.rayContainer" (dict "ctx" $ctx "name" "ray-worker" "image" $image "ports" (include "rayservice.ctx.metricsPorts" (list $ctx "worker") | fromJsonArray) "resources" (include "rayservice.ctx.resources" (list $group.cpu $group.memory $extra) | fromJson) "volumeMounts" $mounts) | fromJson -}}
{{- /* after the shared env: the spec rejects this name in ray.env, so it is never there twice */ -}}
{{- $drain := int64 $group.drainSeconds -}}
{{- $_ := set $container "env" (append $container.env (dict "name" $ctx.doc.constants.drain.env "value" (printf "%d" $drain))) -}}
{{- $grace := ternary (add $drain $ctx.doc.constants.drain.graceMarginSeconds) nil (gt $drain 0) -}}
{{- $rayResources := dict -}}
{{- range $key, $value := $group.rayResources -}}{{- $_ := set $rayResources $key (include "rayservice.resourceText" $value) -}}{{- end -}}
{{- $labels := merge (include "rayservice.ctx.podSelectorLabels" $ctx | fromJson) (deepCopy $group.labels) -}}
{{- if $group.acceleratorType -}}
  {{- $_ := set $rayResources (printf "accelerator_type:%s" $group.acceleratorType) "1" -}}
  {{- $_ = set $labels "ray.io/accelerator-type" $group.acceleratorType -}}
{{- end -}}
{{- $template := include "rayservice.ctx.podTemplate" (dict "ctx" $ctx "labels" $labels "annotations" $group.annotations "nodeSelector" $group.nodeSelector "tolerations" $group.tolerations "terminationGracePeriodSeconds" $grace "container" $container "volumes" $volumes) | fromJson -}}
{{- $max := ternary $group.replicas $group.maxReplicas (kindIs "invalid" $group.maxReplicas) -}}
{{- toJson (dict "groupName" $group.name "replicas" $group.replicas "minReplicas" $group.minReplicas "maxReplicas" $max "numOfHosts" $group.numOfHosts "idleTimeoutSeconds" $group.idleTimeoutSeconds "rayStartParams" $group.rayStartParams "resources" $rayResources "template" $template) -}}
{{- end -}}

{{- define "rayservice.ctx.autoscalerOptions" -}}
{{- $auto := .spec.autoscaling -}}
{{- if $auto.enabled -}}
  {{- $options := dict "upscalingMode" $auto.upscalingMode "idleTimeoutSeconds" $auto.idleTimeoutSeconds -}}
  {{- if $auto.version -}}{{- $_ := set $options "version" $auto.version -}}{{- end -}}
  {{- $_ := set $options "resources" (include "rayservice.ctx.resources" (list $auto.cpu $auto.memory (dict)) | fromJson) -}}
  {{- toJson $options -}}
{{- else -}}null
{{- end -}}
{{- end -}}

{{- define "rayservice.ctx.gcsOptions" -}}
{{- $gcs := .spec.gcsFaultTolerance -}}
{{- if $gcs -}}
  {{- $options := dict "redisAddress" $gcs.redisAddress -}}
  {{- with $gcs.redisPasswordSecret -}}
    {{- $_ := set $options "redisPassword" (dict "valueFrom" (dict "secretKeyRef" (dict "name" .name "key" .key))) -}}
  {{- end -}}
  {{- if not (kindIs "invalid" $gcs.externalStorageNamespace) -}}{{- $_ := set $options "externalStorageNamespace" $gcs.externalStorageNamespace -}}{{- end -}}
  {{- toJson $options -}}
{{- else -}}null
{{- end -}}
{{- end -}}

{{- define "rayservice.ctx.upgradeStrategy" -}}
{{- $strategy := .spec.upgradeStrategy -}}
{{- $out := dict "type" $strategy.type -}}
{{- if $strategy.clusterUpgradeOptions -}}{{- $_ := set $out "clusterUpgradeOptions" $strategy.clusterUpgradeOptions -}}{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The values of templates/rayservice.yaml */}}
{{- define "rayservice.ctx.rayservice" -}}
{{- $spec := .spec -}}
{{- $groups := list -}}
{{- range $group := $spec.workerGroups -}}
  {{- $groups = append $groups (include "rayservice.ctx.workerGroup" (dict "ctx" $ "group" $group) | fromJson) -}}
{{- end -}}
{{- toJson (dict
    "name" $spec.name
    "namespace" $spec.namespace
    "labels" (include "rayservice.ctx.topLabels" . | fromJson)
    "annotations" $spec.annotations
    "upgradeStrategy" (include "rayservice.ctx.upgradeStrategy" . | fromJson)
    "excludeHeadPodFromServeSvc" $spec.serve.excludeHeadFromServeService
    "serveConfigV2" .serveConfig
    "rayVersion" $spec.ray.version
    "autoscalerOptions" (include "rayservice.ctx.autoscalerOptions" . | fromJson)
    "gcsFaultToleranceOptions" (include "rayservice.ctx.gcsOptions" . | fromJson)
    "headGroupSpec" (include "rayservice.ctx.headGroup" . | fromJson)
    "workerGroupSpecs" $groups) -}}
{{- end -}}

{{/* The values of templates/ingress.yaml (none without expose.ingress). */}}
{{- define "rayservice.ctx.ingresses" -}}
{{- $ingress := .spec.expose.ingress -}}
{{- if $ingress -}}
  {{- toJson (list (dict "name" (printf "%s-serve" .spec.name) "namespace" .spec.namespace "labels" (include "rayservice.ctx.topLabels" . | fromJson) "annotations" $ingress.annotations "className" $ingress.className "host" $ingress.host "tlsSecretName" $ingress.tlsSecretName "path" $ingress.path "pathType" $ingress.pathType "service" (printf "%s-serve-svc" .spec.name))) -}}
{{- else -}}[]
{{- end -}}
{{- end -}}

{{/* ray_resource_text: integral amounts below 2^53 as integers (memory in bytes stays exact), others as Python's
f"{v:g}" (Go's %.6g writes the same digits) */}}
{{- define "rayservice.resourceText" -}}
{{- $f := float64 . -}}
{{- if and (eq $f (floor $f)) (lt $f 9007199254740992.0) (gt $f -9007199254740992.0) -}}
{{- int64 $f -}}
{{- else -}}
{{- printf "%.6g" $f -}}
{{- end -}}
{{- end -}}
