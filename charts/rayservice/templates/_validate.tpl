{{/*
The checks values.schema.json cannot express, worded like rayctl's own messages (the pydantic validators of
rayctl/spec and rayctl/apps, and the rules of rayctl/validate/rules.py that matter most). Each `fail` names the
field path first, as `rayctl render` does (without the file:line, which Helm does not know).

rayservice.validateSpec runs on the filled spec (before the profile), rayservice.validateRendered on what the
templates will render (after it), exactly where rayctl checks them.
*/}}
{{- define "rayservice.validateSpec" -}}
{{- $spec := .spec -}}
{{- $doc := .doc -}}
{{- $max := int $doc.constants.maxNameLength -}}
{{- /* name: DNS-1035, at most 47 characters (KubeRay appends suffixes to build RayCluster and Service names) */ -}}
{{- if gt (len $spec.name) $max -}}
  {{- fail (printf "name: '%s' is %d characters; KubeRay allows at most %d for a RayService name (it appends suffixes to build RayCluster and Service names): shorten it" $spec.name (len $spec.name) $max) -}}
{{- end -}}
{{- if not (regexMatch $doc.constants.patterns.dns1035 $spec.name) -}}
  {{- fail (printf "name: '%s' is not a DNS-1035 label: use lowercase letters, digits and '-', start with a letter and end with a letter or digit" $spec.name) -}}
{{- end -}}
{{- with $spec.namespace -}}
  {{- if or (gt (len .) 63) (not (regexMatch $doc.constants.patterns.dns1123 .)) -}}
    {{- fail (printf "namespace: '%s' is not a valid namespace name (DNS-1123 label)" .) -}}
  {{- end -}}
{{- end -}}
{{- /* worker groups: replicas within minReplicas..maxReplicas, unique names */ -}}
{{- $groupNames := list -}}
{{- range $i, $g := $spec.workerGroups -}}
  {{- $min := int64 $g.minReplicas -}}
  {{- $replicas := int64 $g.replicas -}}
  {{- $upper := ternary $replicas (int64 $g.maxReplicas) (kindIs "invalid" $g.maxReplicas) -}}
  {{- if gt $min $upper -}}
    {{- fail (printf "workerGroups[%d]: minReplicas (%d) is greater than maxReplicas (%d); raise maxReplicas or lower minReplicas" $i $min $upper) -}}
  {{- end -}}
  {{- if or (lt $replicas $min) (gt $replicas $upper) -}}
    {{- fail (printf "workerGroups[%d]: replicas (%d) must lie within minReplicas..maxReplicas (%d..%d); adjust replicas or the bounds" $i $replicas $min $upper) -}}
  {{- end -}}
  {{- $groupNames = append $groupNames $g.name -}}
{{- end -}}
{{- $dupes := include "rayservice.repeated" $groupNames -}}
{{- if $dupes -}}
  {{- fail (printf "workerGroups: worker group names must be unique; repeated: %s" $dupes) -}}
{{- end -}}
{{- /* upgradeStrategy: clusterUpgradeOptions exactly with NewClusterWithIncrementalUpgrade */ -}}
{{- $strategy := $spec.upgradeStrategy -}}
{{- $incremental := eq $strategy.type "NewClusterWithIncrementalUpgrade" -}}
{{- if and $incremental (kindIs "invalid" $strategy.clusterUpgradeOptions) -}}
  {{- fail "upgradeStrategy: type NewClusterWithIncrementalUpgrade needs clusterUpgradeOptions.gatewayClassName" -}}
{{- end -}}
{{- if and (not $incremental) (not (kindIs "invalid" $strategy.clusterUpgradeOptions)) -}}
  {{- fail (printf "upgradeStrategy: clusterUpgradeOptions only applies to NewClusterWithIncrementalUpgrade, not %s" $strategy.type) -}}
{{- end -}}
{{- /* monitoring: ports repeated, and HAProxy's port scraped without Serve's HAProxy mode (spec/monitoring.py,
       DeploymentSpec._scraped_ports_served) */ -}}
{{- range $field := list "podMonitor" "scrapeConfig" -}}
  {{- $part := index $spec.monitoring $field -}}
  {{- if $part -}}
    {{- if ne (len $part.ports) (len (uniq $part.ports)) -}}
      {{- fail (printf "monitoring.%s: ports are repeated: ['%s']" $field (join "', '" $part.ports)) -}}
    {{- end -}}
    {{- if and $part.enabled (not $spec.serve.highThroughput) (has "haproxy-metrics" $part.ports) -}}
      {{- fail (printf "monitoring.%s.ports: 'haproxy-metrics' is served only in Serve's HAProxy mode: set serve.highThroughput: true or drop the port" $field) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- /* ray: one source per env name (spec/cluster.py RaySettings._one_source_per_env_name) */ -}}
{{- $secretNames := list -}}
{{- range $item := $spec.ray.secretEnv -}}{{- $secretNames = append $secretNames $item.name -}}{{- end -}}
{{- $dupes = include "rayservice.repeated" $secretNames -}}
{{- if $dupes -}}
  {{- fail (printf "ray: secretEnv defines %s more than once: keep one entry per name" $dupes) -}}
{{- end -}}
{{- $both := list -}}
{{- range $name := $secretNames | uniq | sortAlpha -}}{{- if hasKey $spec.ray.env $name -}}{{- $both = append $both $name -}}{{- end -}}{{- end -}}
{{- if $both -}}
  {{- fail (printf "ray: %s is set in both env and secretEnv: the container would get two entries and the later one silently wins; keep it in secretEnv only" (join ", " $both)) -}}
{{- end -}}
{{- $drainEnv := $doc.constants.drain.env -}}
{{- if or (hasKey $spec.ray.env $drainEnv) (has $drainEnv $secretNames) -}}
  {{- fail (printf "ray: %s is set from workerGroups[].drainSeconds (which also sizes the worker pods' terminationGracePeriodSeconds): set drainSeconds on the groups instead" $drainEnv) -}}
{{- end -}}
{{- /* serve.httpPort: not a port Ray listens on (spec/serve.py ServeSettings._port_free) */ -}}
{{- $port := printf "%d" (int64 $spec.serve.httpPort) -}}
{{- if hasKey $doc.constants.rayPorts $port -}}
  {{- fail (printf "serve: httpPort %s is the port of %s: Serve's proxy could not bind it; pick another (8000 is Serve's default)" $port (index $doc.constants.rayPorts $port)) -}}
{{- end -}}
{{- /* applications */ -}}
{{- $appNames := list -}}
{{- $routes := list -}}
{{- range $i, $app := $spec.serve.applications -}}
  {{- $path := printf "serve.applications[%d]" $i -}}
  {{- with $app.routePrefix -}}
    {{- if not (regexMatch $doc.constants.patterns.route .) -}}
      {{- fail (printf "%s.routePrefix: route prefix '%s' must start with '/' and be a URL path" $path .) -}}
    {{- end -}}
    {{- if and (gt (len .) 1) (hasSuffix "/" .) -}}
      {{- fail (printf "%s.routePrefix: route prefix '%s' must not end with '/'" $path .) -}}
    {{- end -}}
  {{- end -}}
  {{- $_ := include "rayservice.validateApp" (dict "app" $app "path" $path "doc" $doc) -}}
  {{- $appNames = append $appNames $app.name -}}
  {{- $routes = append $routes (default (printf "/%s" $app.name) $app.routePrefix) -}}
{{- end -}}
{{- $dupes = include "rayservice.repeated" $appNames -}}
{{- if $dupes -}}
  {{- fail (printf "serve: application names must be unique; repeated: %s" $dupes) -}}
{{- end -}}
{{- $dupes = include "rayservice.repeated" $routes -}}
{{- if $dupes -}}
  {{- fail (printf "serve: route prefixes must be unique; repeated: %s" $dupes) -}}
{{- end -}}
{{- /* literal secrets (rayctl: DeploymentSpec._no_inline_secrets), last as in rayctl */ -}}
{{- $_ := include "rayservice.secrets.check" (dict "spec" $spec "doc" $doc) -}}
{{- end -}}

{{/* The items of a list that occur more than once, sorted and joined with ", " (empty when none). */}}
{{- define "rayservice.repeated" -}}
{{- $seen := dict -}}
{{- $dupes := list -}}
{{- range $item := . -}}
  {{- if hasKey $seen $item -}}{{- $dupes = append $dupes $item -}}{{- end -}}
  {{- $_ := set $seen $item true -}}
{{- end -}}
{{- $dupes | uniq | sortAlpha | join ", " -}}
{{- end -}}

{{/* One application: its deployments (known names, Serve options) and its type's own rules. */}}
{{- define "rayservice.validateApp" -}}
{{- $app := .app -}}
{{- $path := .path -}}
{{- $type := toString $app.type -}}
{{- $registry := index .doc.apps $type -}}
{{- if and (hasKey $app "device") (ne $type "custom") -}}
  {{- $allowed := $registry.deployments -}}
  {{- if eq $type "ab" -}}
    {{- range $v := $app.variants -}}{{- $allowed = append $allowed (printf $.doc.constants.abVariantDeployment $v.name) -}}{{- end -}}
    {{- $allowed = sortAlpha $allowed -}}
  {{- end -}}
  {{- range $name := keys $app.deployments | sortAlpha -}}
    {{- if not (has $name $allowed) -}}
      {{- fail (printf "%s.deployments: app type '%s' has no deployment '%s'; its deployments are: %s" $path $type $name (ternary "(none: use `deployment`)" (join ", " $allowed) (empty $allowed))) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- range $name, $options := $app.deployments -}}
  {{- $_ := include "rayservice.validateDeployment" (dict "o" $options "path" (printf "%s.deployments.%s" $path $name)) -}}
{{- end -}}
{{- if eq $type "ab" -}}
  {{- $names := list -}}
  {{- $weight := 0.0 -}}
  {{- range $v := $app.variants -}}
    {{- $names = append $names $v.name -}}
    {{- $weight = addf $weight $v.weight -}}
  {{- end -}}
  {{- if ne (len ($names | uniq)) (len $names) -}}
    {{- fail (printf "%s: variant names must be unique, got ['%s']" $path (join "', '" $names)) -}}
  {{- end -}}
  {{- if le (float64 $weight) 0.0 -}}
    {{- fail (printf "%s: at least one variant needs a weight above 0" $path) -}}
  {{- end -}}
{{- end -}}
{{- if eq $type "llm" -}}
  {{- $_ := include "rayservice.validateDeployment" (dict "o" $app.deployment "path" (printf "%s.deployment" $path)) -}}
  {{- if or $app.deployment.placementGroupBundles $app.deployment.placementGroupStrategy -}}
    {{- fail (printf "%s: llm apps compute their placement group from tensorParallelSize x pipelineParallelSize: set placementStrategy/bundleCpus/bundleGpus instead of deployment.placementGroupBundles" $path) -}}
  {{- end -}}
  {{- range $key := list "tensor_parallel_size" "pipeline_parallel_size" "max_model_len" -}}
    {{- if hasKey $app.engineKwargs $key -}}
      {{- fail (printf "%s: set %s on the app instead of engineKwargs.%s" $path (camelcase $key | untitle) $key) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- end -}}

{{/* DeploymentOptions: num_replicas XOR autoscaling, bundles and their strategy, Serve autoscaling bounds. */}}
{{- define "rayservice.validateDeployment" -}}
{{- $o := .o -}}
{{- $path := .path -}}
{{- $fixed := or (kindIs "float64" $o.numReplicas) (kindIs "int64" $o.numReplicas) (kindIs "int" $o.numReplicas) -}}
{{- with $o.autoscaling -}}
  {{- $min := int64 .minReplicas -}}
  {{- $max := int64 .maxReplicas -}}
  {{- if gt $min $max -}}
    {{- fail (printf "%s.autoscaling: minReplicas (%d) is greater than maxReplicas (%d)" $path $min $max) -}}
  {{- end -}}
  {{- if not (kindIs "invalid" .initialReplicas) -}}
    {{- $initial := int64 .initialReplicas -}}
    {{- if or (lt $initial $min) (gt $initial $max) -}}
      {{- fail (printf "%s.autoscaling: initialReplicas (%d) must lie within minReplicas..maxReplicas (%d..%d)" $path $initial $min $max) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- if and $fixed $o.autoscaling -}}
  {{- fail (printf "%s: numReplicas and autoscaling are mutually exclusive: drop numReplicas to autoscale, or set numReplicas: \"auto\"" $path) -}}
{{- end -}}
{{- if and $fixed (lt (int64 $o.numReplicas) 1) -}}
  {{- fail (printf "%s: numReplicas must be at least 1 (use autoscaling with minReplicas: 0 to scale to zero)" $path) -}}
{{- end -}}
{{- if and (not (kindIs "invalid" $o.placementGroupStrategy)) (not $o.placementGroupBundles) -}}
  {{- fail (printf "%s: placementGroupStrategy requires placementGroupBundles" $path) -}}
{{- end -}}
{{- if and (not (kindIs "invalid" $o.maxReplicasPerNode)) $o.placementGroupBundles -}}
  {{- fail (printf "%s: maxReplicasPerNode cannot be combined with placementGroupBundles (Ray rejects it)" $path) -}}
{{- end -}}
{{- end -}}

{{/*
The rules of rayctl/validate/rules.py on what will be rendered: tensor_parallel_size x pipeline_parallel_size GPUs
must fit one worker pod under STRICT_PACK (_check_llm).
*/}}
{{- define "rayservice.validateRendered" -}}
{{- $largest := 0.0 -}}
{{- range $g := .rs.workerGroupSpecs -}}
  {{- $gpus := 0.0 -}}
  {{- if hasKey $g.rayStartParams "num-gpus" -}}
    {{- $gpus = float64 (index $g.rayStartParams "num-gpus") -}}
  {{- else -}}
    {{- $container := $g.template.container -}}
    {{- range $section := list "limits" "requests" -}}
      {{- range $key, $value := (index $container.resources $section) -}}
        {{- if and (hasSuffix "/gpu" $key) (gt (float64 $value) $gpus) -}}{{- $gpus = float64 $value -}}{{- end -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
  {{- if gt $gpus $largest -}}{{- $largest = $gpus -}}{{- end -}}
{{- end -}}
{{- range $i, $app := .serveConfig.applications -}}
  {{- if eq $app.import_path (index $.doc.apps "llm").importPath -}}
    {{- range $config := $app.args.llm_configs -}}
      {{- $engine := $config.engine_kwargs -}}
      {{- $tp := int64 (default 1 (index $engine "tensor_parallel_size")) -}}
      {{- $pp := int64 (default 1 (index $engine "pipeline_parallel_size")) -}}
      {{- $pg := $config.placement_group_config -}}
      {{- $bundles := $pg.bundles -}}
      {{- if not $bundles -}}
        {{- $bundles = list -}}
        {{- range until (int (mul $tp $pp)) -}}{{- $bundles = append $bundles $pg.bundle_per_worker -}}{{- end -}}
      {{- end -}}
      {{- $gpus := 0.0 -}}
      {{- range $bundle := $bundles -}}{{- $gpus = addf $gpus (default 0 (index $bundle "GPU")) -}}{{- end -}}
      {{- if and (eq (toString $pg.strategy) "STRICT_PACK") (gt (float64 $gpus) 0.0) (gt (float64 $gpus) (addf $largest 0.000000001)) -}}
        {{- fail (printf "serve.applications[%d]: LLM '%s': tensor_parallel_size x pipeline_parallel_size = %dx%d needs %s GPUs on one node under STRICT_PACK, but the largest GPU worker pod has %s; raise workerGroups[].gpus to %s or lower the parallelism" $i $config.model_loading_config.model_id $tp $pp (printf "%.6g" (float64 $gpus)) (printf "%.6g" (float64 $largest)) (printf "%.6g" (float64 $gpus))) -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- end -}}
