{{/*
Application types: the dispatch to the per-type templates (templates/_app_<type>.tpl, one per rayctl/apps/<type>.py)
and what rayctl/apps/base.py shares between them. Each type defines, named after it:
  rayservice.app.<type>.kind                 "bundled" (a BundledApp: has `device` and `deployments`) or "base"
  rayservice.app.<type>.importPath           the import path (prints it)
  rayservice.app.<type>.wantsGpu             what `device: auto` resolves to without a profile ("true" or "")
  rayservice.app.<type>.args                 serve_args(device)            -> .out.args (nil: no `args` key)
  rayservice.app.<type>.implicitDeployments  implicit_deployments(device)  -> .out.deployments
  rayservice.app.<type>.forCpu               for_cpu(settings)             -> .out.app
*/}}
{{- define "rayservice.app.implemented" -}}
hello llm vllm pipeline classifier ab custom
{{- end -}}

{{/* The per-type define `hook` of an application; fails for a type the chart has no templates for. */}}
{{- define "rayservice.app.hook" -}}
{{- $type := toString .app.type -}}
{{- if not (has $type (splitList " " (include "rayservice.app.implemented" .))) -}}
  {{- fail (printf "application %s: type '%s' has no chart templates; add charts/rayservice/templates/_app_%s.tpl mirroring rayctl/apps/%s.py (rayservice.app.%s.args, .implicitDeployments, .forCpu, ...) and list it in rayservice.app.implemented" (toJson .app.name) $type $type $type $type) -}}
{{- end -}}
{{- printf "rayservice.app.%s.%s" $type .hook -}}
{{- end -}}

{{/* resolve_device (AppBase / BundledApp): the profile wins, then the app's own `device`, then its placement. */}}
{{- define "rayservice.app.device" -}}
{{- $kind := include (include "rayservice.app.hook" (dict "app" .app "hook" "kind")) . -}}
{{- if eq (toString .profile) "cpu" -}}cpu
{{- else if ne $kind "bundled" -}}gpu
{{- else if ne .app.device "auto" -}}{{ .app.device }}
{{- else if eq (toString .profile) "gpu" -}}gpu
{{- else if include (include "rayservice.app.hook" (dict "app" .app "hook" "wantsGpu")) . -}}gpu
{{- else -}}cpu
{{- end -}}
{{- end -}}

{{/* BundledApp.wants_gpu: a deployment of the app asks for GPUs (actor num_gpus or a GPU bundle). */}}
{{- define "rayservice.app.deploymentsWantGpu" -}}
{{- $wants := false -}}
{{- range $name, $options := .app.deployments -}}
  {{- if include "rayservice.deploymentAsksForGpus" $options -}}{{- $wants = true -}}{{- end -}}
{{- end -}}
{{- if $wants -}}true{{- end -}}
{{- end -}}

{{- define "rayservice.deploymentAsksForGpus" -}}
{{- $asks := false -}}
{{- if and .rayActorOptions (gt (float64 (default 0 .rayActorOptions.numGpus)) 0.0) -}}{{- $asks = true -}}{{- end -}}
{{- range $bundle := .placementGroupBundles -}}
  {{- if gt (float64 (default 0 (index $bundle "GPU"))) 0.0 -}}{{- $asks = true -}}{{- end -}}
{{- end -}}
{{- if $asks -}}true{{- end -}}
{{- end -}}

{{/* The serve options the user set per deployment (BundledApp and custom: `deployments`). */}}
{{- define "rayservice.app.explicitDeployments" -}}
{{- $out := dict -}}
{{- if hasKey .app "deployments" -}}{{- $out = .app.deployments -}}{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The identity for_cpu (AppBase.for_cpu). */}}
{{- define "rayservice.app.sameOnCpu" -}}
{{- $_ := set .out "app" .app -}}
{{- end -}}

{{/* No implicit deployment options (AppBase.implicit_deployments). */}}
{{- define "rayservice.app.noImplicitDeployments" -}}
{{- $_ := set .out "deployments" dict -}}
{{- end -}}

{{/* The registry's import path of a bundled type. */}}
{{- define "rayservice.app.registryImportPath" -}}
{{- (index .doc.apps (toString .app.type)).importPath -}}
{{- end -}}

{{/* A copy of a map without its nil values (rayctl/apps/base.py drop_none). */}}
{{- define "rayservice.dropNone" -}}
{{- $kept := dict -}}
{{- range $key, $value := . -}}
  {{- if not (kindIs "invalid" $value) -}}{{- $_ := set $kept $key $value -}}{{- end -}}
{{- end -}}
{{- toJson $kept -}}
{{- end -}}

{{/*
DeploymentOptions.to_serve(cpu_only): the options in Ray's `deployments[]` keys (rayctl/spec/deployment.py).
  include "rayservice.deploymentToServe" (dict "o" OPTIONS "cpuOnly" BOOL "doc" DEFAULTS)  -> JSON
*/}}
{{- define "rayservice.deploymentToServe" -}}
{{- $o := .o -}}
{{- $out := dict -}}
{{- if not (kindIs "invalid" $o.numReplicas) -}}{{- $_ := set $out "num_replicas" $o.numReplicas -}}{{- end -}}
{{- if $o.autoscaling -}}
  {{- $_ := set $out "autoscaling_config" (include "rayservice.dumpSnake" (dict "v" $o.autoscaling "m" "ServeAutoscaling" "doc" .doc) | fromJson) -}}
{{- end -}}
{{- range $key := list "maxOngoingRequests" "maxQueuedRequests" -}}
  {{- if not (kindIs "invalid" (index $o $key)) -}}
    {{- $_ := set $out (include "rayservice.pyName" (dict "m" "DeploymentOptions" "key" $key "doc" $.doc)) (index $o $key) -}}
  {{- end -}}
{{- end -}}
{{- if $o.rayActorOptions -}}
  {{- $actor := include "rayservice.actorToServe" (dict "a" $o.rayActorOptions "cpuOnly" .cpuOnly) | fromJson -}}
  {{- if $actor -}}{{- $_ := set $out "ray_actor_options" $actor -}}{{- end -}}
{{- end -}}
{{- if not (kindIs "invalid" $o.placementGroupBundles) -}}
  {{- $bundles := list -}}
  {{- range $bundle := $o.placementGroupBundles -}}
    {{- if $.cpuOnly -}}
      {{- $bundle = omit $bundle "GPU" -}}
      {{- if not $bundle -}}{{- $bundle = dict "CPU" 1 -}}{{- end -}}
    {{- end -}}
    {{- $bundles = append $bundles $bundle -}}
  {{- end -}}
  {{- $_ := set $out "placement_group_bundles" $bundles -}}
{{- end -}}
{{- if not (kindIs "invalid" $o.placementGroupStrategy) -}}{{- $_ := set $out "placement_group_strategy" $o.placementGroupStrategy -}}{{- end -}}
{{- range $key := list "maxReplicasPerNode" "healthCheckPeriodS" "healthCheckTimeoutS" "gracefulShutdownWaitLoopS" "gracefulShutdownTimeoutS" "userConfig" -}}
  {{- if not (kindIs "invalid" (index $o $key)) -}}
    {{- $_ := set $out (include "rayservice.pyName" (dict "m" "DeploymentOptions" "key" $key "doc" $.doc)) (index $o $key) -}}
  {{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* RayActorOptions.to_serve(cpu_only) -> JSON */}}
{{- define "rayservice.actorToServe" -}}
{{- $a := .a -}}
{{- $out := dict -}}
{{- if not (kindIs "invalid" $a.numCpus) -}}{{- $_ := set $out "num_cpus" $a.numCpus -}}{{- end -}}
{{- if and (not (kindIs "invalid" $a.numGpus)) (not .cpuOnly) -}}{{- $_ := set $out "num_gpus" $a.numGpus -}}{{- end -}}
{{- if not (kindIs "invalid" $a.memory) -}}{{- $_ := set $out "memory" (include "rayservice.quantityFloor" $a.memory | atoi) -}}{{- end -}}
{{- if $a.resources -}}{{- $_ := set $out "resources" $a.resources -}}{{- end -}}
{{- if and (not (kindIs "invalid" $a.acceleratorType)) (not .cpuOnly) -}}{{- $_ := set $out "accelerator_type" $a.acceleratorType -}}{{- end -}}
{{- if not (kindIs "invalid" $a.runtimeEnv) -}}{{- $_ := set $out "runtime_env" $a.runtimeEnv -}}{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* model_dump(by_alias=False, exclude_none=True): a filled model with its Python (snake_case) field names. */}}
{{- define "rayservice.dumpSnake" -}}
{{- $out := dict -}}
{{- range $field := (index .doc.models .m).fields -}}
  {{- $value := index $.v $field.key -}}
  {{- if not (kindIs "invalid" $value) -}}{{- $_ := set $out $field.py $value -}}{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The Python name of a model field, from its camelCase key. */}}
{{- define "rayservice.pyName" -}}
{{- range $field := (index .doc.models .m).fields -}}
  {{- if eq $field.key $.key -}}{{- $field.py -}}{{- end -}}
{{- end -}}
{{- end -}}
