{{/*
Checks that values.schema.json cannot express: each failure stops the render
(helm template, install, upgrade and lint) with a message naming the values.
*/}}
{{- define "roomcast.validate" -}}
{{- $v := .Values -}}
{{- $c := $v.config -}}
{{- $s := $v.secrets -}}
{{- $refs := include "roomcast.secretRefs" . | fromJson -}}
{{- $secretSettings := include "roomcast.secretSettings" . | fromJsonArray -}}

{{- /* Secrets: never a plain value unless the chart is asked to create the Secret. */ -}}
{{- range $env := $secretSettings -}}
{{- $value := get ($s.values | default dict) $env -}}
{{- $key := get ($s.existingSecretKeys | default dict) $env -}}
{{- if and $value (not $s.create) -}}
{{- fail (printf "roomcast: secrets.values.%s is set but secrets.create is false: a secret is never taken from a plain value. Put it in a Secret you manage (secrets.existingSecret and secrets.existingSecretKeys.%s), or set secrets.create=true to have the chart create one (the value is then stored in the Helm release)." $env $env) -}}
{{- end -}}
{{- $name := get ($s.existingSecretNames | default dict) $env | default $s.existingSecret -}}
{{- if and $key (not $name) -}}
{{- fail (printf "roomcast: secrets.existingSecretKeys.%s is set but no Secret is named: set secrets.existingSecret (or secrets.existingSecretNames.%s) to the Secret holding the key %q." $env $env $key) -}}
{{- end -}}
{{- if and (get ($s.existingSecretNames | default dict) $env) (not $key) -}}
{{- fail (printf "roomcast: secrets.existingSecretNames.%s is set but secrets.existingSecretKeys.%s is empty: name the key that holds %s." $env $env $env) -}}
{{- end -}}
{{- if and $key $value $s.create -}}
{{- fail (printf "roomcast: %s is both secrets.existingSecretKeys.%s and secrets.values.%s: keep one." $env $env $env) -}}
{{- end -}}
{{- end -}}

{{- /* extraEnv must not shadow the settings (nor carry a secret in plain text). */ -}}
{{- range $e := $v.extraEnv -}}
{{- if has $e.name $secretSettings -}}
{{- fail (printf "roomcast: extraEnv %s is a secret setting: give it through secrets (existingSecret/existingSecretKeys.%s), never as a plain value." $e.name $e.name) -}}
{{- end -}}
{{- if hasKey $c $e.name -}}
{{- fail (printf "roomcast: extraEnv %s is a roomcastd setting: set it as config.%s, not in extraEnv." $e.name $e.name) -}}
{{- end -}}
{{- if eq $e.name "HOSTNAME" -}}
{{- fail "roomcast: extraEnv HOSTNAME: the bind address is config.ROOMCAST_HOST." -}}
{{- end -}}
{{- end -}}

{{- /* The files the chart mounts set their settings itself. */ -}}
{{- if and $v.files.jwtPublicKey $c.ROOMCAST_JWT_PUBLIC_KEY_FILE -}}
{{- fail "roomcast: files.jwtPublicKey and config.ROOMCAST_JWT_PUBLIC_KEY_FILE are both set: give the key inline (files.jwtPublicKey) or a path you mount (extraVolumes), not both." -}}
{{- end -}}
{{- if and $v.files.roomPolicy $c.ROOMCAST_ROOM_POLICY -}}
{{- fail "roomcast: files.roomPolicy and config.ROOMCAST_ROOM_POLICY are both set: give the policy inline (files.roomPolicy) or a path you mount (extraVolumes), not both." -}}
{{- end -}}

{{- /* What roomcastd itself refuses at startup with NODE_ENV=production: fail here instead of crash-looping. */ -}}
{{- if and (eq (toString $c.NODE_ENV) "production") (not $c.ROOMCAST_INSECURE) -}}
{{- if not (or (hasKey $refs "INTERNAL_API_KEY") $v.apiKeys.existingSecret $c.ROOMCAST_API_KEYS_FILE) -}}
{{- fail "roomcast: NODE_ENV=production requires INTERNAL_API_KEY (roomcastd refuses to start without it): set secrets.existingSecret with secrets.existingSecretKeys.INTERNAL_API_KEY, or secrets.create=true with secrets.values.INTERNAL_API_KEY, or apiKeys.existingSecret (a keys file); or config.ROOMCAST_INSECURE=true to run without one, or config.NODE_ENV=development." -}}
{{- end -}}
{{- if not (or (hasKey $refs "JWT_SECRET") (hasKey $refs "NEXTAUTH_SECRET") $v.files.jwtPublicKey $c.ROOMCAST_JWT_PUBLIC_KEY_FILE) -}}
{{- fail "roomcast: NODE_ENV=production requires browser authentication (roomcastd refuses to start without it): JWT_SECRET or NEXTAUTH_SECRET through secrets, or files.jwtPublicKey / config.ROOMCAST_JWT_PUBLIC_KEY_FILE; or config.ROOMCAST_INSECURE=true for anonymous browsers." -}}
{{- end -}}
{{- end -}}

{{- /* The client-events webhook is signed: roomcastd refuses to start with a webhook and no key for it. */ -}}
{{- if and $c.ROOMCAST_CLIENT_EVENTS_WEBHOOK (not (or (hasKey $refs "ROOMCAST_WEBHOOK_SECRET") (hasKey $refs "INTERNAL_API_KEY"))) -}}
{{- fail "roomcast: config.ROOMCAST_CLIENT_EVENTS_WEBHOOK is set but the webhook has no secret to sign with (roomcastd refuses to start without one): set secrets.existingSecret with secrets.existingSecretKeys.ROOMCAST_WEBHOOK_SECRET (or secrets.create=true with secrets.values.ROOMCAST_WEBHOOK_SECRET), or give INTERNAL_API_KEY through secrets (its key then signs the webhook); or unset config.ROOMCAST_CLIENT_EVENTS_WEBHOOK." -}}
{{- end -}}

{{- /* Several pods need the broker, or each has rooms of its own. */ -}}
{{- if and (or (gt (int64 $v.replicaCount) 1) $v.autoscaling.enabled) (not (hasKey $refs "REDIS_URL")) -}}
{{- fail (printf "roomcast: %s without REDIS_URL: several pods without a broker would silently split the rooms (an emit reaches only the sockets of the pod that takes it). Set secrets.existingSecret with secrets.existingSecretKeys.REDIS_URL (or secrets.create=true with secrets.values.REDIS_URL), or run one pod (replicaCount=1, autoscaling.enabled=false)." (ternary "autoscaling.enabled=true" (printf "replicaCount=%d" (int64 $v.replicaCount)) (eq $v.autoscaling.enabled true))) -}}
{{- end -}}

{{- /* Ports. */ -}}
{{- if eq (int64 $c.PORT) (int64 $c.GRPC_PORT) -}}
{{- fail (printf "roomcast: config.PORT and config.GRPC_PORT are both %d: they must differ." (int64 $c.PORT)) -}}
{{- end -}}

{{- /* Drain: the grace is inside the deadline, and the pod's grace period covers preStop + deadline + margin. */ -}}
{{- if ge (int64 $c.ROOMCAST_DRAIN_GRACE_MS) (int64 $c.ROOMCAST_DRAIN_DEADLINE_MS) -}}
{{- fail (printf "roomcast: config.ROOMCAST_DRAIN_GRACE_MS (%d) must be less than config.ROOMCAST_DRAIN_DEADLINE_MS (%d): both count from SIGTERM, and the sessions are closed between the two." (int64 $c.ROOMCAST_DRAIN_GRACE_MS) (int64 $c.ROOMCAST_DRAIN_DEADLINE_MS)) -}}
{{- end -}}
{{- $d := include "roomcast.drain" . | fromJson -}}
{{- if lt (int64 $d.grace) (int64 $d.needed) -}}
{{- fail (printf "roomcast: terminationGracePeriodSeconds=%d is too short: it must be at least drain.preStopSeconds (%d) + ceil(config.ROOMCAST_DRAIN_DEADLINE_MS / 1000) (%d) + drain.marginSeconds (%d) = %d, or the kubelet kills roomcastd before it has drained. Raise it, or leave it null to have it computed." (int64 $d.grace) (int64 $d.preStop) (int64 $d.deadline) (int64 $d.margin) (int64 $d.needed)) -}}
{{- end -}}

{{- /* The ingress must hold a WebSocket or a long-poll longer than a heartbeat. */ -}}
{{- if and $v.ingress.enabled $v.ingress.nginx -}}
{{- $heartbeat := add (int64 $c.ROOMCAST_PING_INTERVAL_MS) (int64 $c.ROOMCAST_PING_TIMEOUT_MS) -}}
{{- if le (mul (int64 $v.ingress.timeoutSeconds) 1000) $heartbeat -}}
{{- fail (printf "roomcast: ingress.timeoutSeconds=%d must exceed pingInterval + pingTimeout (%d ms): the ingress would cut idle WebSockets and held long-polls." (int64 $v.ingress.timeoutSeconds) $heartbeat) -}}
{{- end -}}
{{- end -}}

{{- /* Autoscaling. */ -}}
{{- if $v.autoscaling.enabled -}}
{{- if gt (int64 $v.autoscaling.minReplicas) (int64 $v.autoscaling.maxReplicas) -}}
{{- fail (printf "roomcast: autoscaling.minReplicas (%d) is more than autoscaling.maxReplicas (%d)." (int64 $v.autoscaling.minReplicas) (int64 $v.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- $requests := ($v.resources | default dict).requests | default dict -}}
{{- if and (not (kindIs "invalid" $v.autoscaling.targetCPUUtilizationPercentage)) (not $requests.cpu) -}}
{{- fail "roomcast: autoscaling.targetCPUUtilizationPercentage needs resources.requests.cpu: utilisation is a share of the request." -}}
{{- end -}}
{{- if and (not (kindIs "invalid" $v.autoscaling.targetMemoryUtilizationPercentage)) (not $requests.memory) -}}
{{- fail "roomcast: autoscaling.targetMemoryUtilizationPercentage needs resources.requests.memory: utilisation is a share of the request." -}}
{{- end -}}
{{- if and (kindIs "invalid" $v.autoscaling.targetCPUUtilizationPercentage) (kindIs "invalid" $v.autoscaling.targetMemoryUtilizationPercentage) (not $v.autoscaling.metrics) -}}
{{- fail "roomcast: autoscaling has no metric: set autoscaling.targetCPUUtilizationPercentage, autoscaling.targetMemoryUtilizationPercentage or autoscaling.metrics." -}}
{{- end -}}
{{- end -}}
{{- end -}}
