{{- define "chatops.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "chatops.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "chatops.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chatops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "chatops.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "chatops.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "chatops.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "chatops.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* REDIS_URL for the store's shape (README "Scale out"); never holds a password */}}
{{- define "chatops.redisUrl" -}}
{{- $ext := .Values.redis.external -}}
{{- $tls := and $ext.tls $ext.tls.enabled -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://%s-redis-master:6379/0" .Release.Name -}}
{{- else if eq $ext.shape "single" -}}
{{- required "redis.externalUrl is required when redis.enabled is false" .Values.redis.externalUrl -}}
{{- else if eq $ext.shape "sentinel" -}}
{{- $hosts := $ext.sentinel.hosts -}}
{{- if not $hosts -}}{{- fail "redis.external.sentinel.hosts (host:26379 of each sentinel) is required for shape sentinel" -}}{{- end -}}
{{- $name := required "redis.external.sentinel.primaryName is required for shape sentinel" $ext.sentinel.primaryName -}}
{{- printf "%s://%s/%s/%v" (ternary "rediss+sentinel" "redis+sentinel" $tls) (join "," $hosts) $name (default 0 $ext.sentinel.db) -}}
{{- else if eq $ext.shape "cluster" -}}
{{- $hosts := $ext.cluster.hosts -}}
{{- if not $hosts -}}{{- fail "redis.external.cluster.hosts (host:port of any reachable nodes) is required for shape cluster" -}}{{- end -}}
{{- printf "%s://%s" (ternary "rediss+cluster" "redis+cluster" $tls) (join "," $hosts) -}}
{{- else -}}
{{- fail (printf "redis.external.shape must be single, sentinel or cluster, not %q" $ext.shape) -}}
{{- end -}}
{{- end -}}

{{/* The environment every bot container shares: secrets dir, policy, store (URL, password, CA) */}}
{{- define "chatops.env" -}}
- name: CHATOPS_SECRETS_DIR
  value: /var/run/secrets/chatops
- name: CHATOPS_CONFIG
  value: /etc/chatops/policy.yml
- name: CHATOPS_REDIS_PREFIX
  value: {{ .Values.redis.prefix | quote }}
- name: CHATOPS_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
{{- if .Values.slack.apiUrl }}
- name: SLACK_API_URL
  value: {{ .Values.slack.apiUrl | quote }}
{{- end }}
{{- if and .Values.redis.enabled .Values.redis.auth.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default (printf "%s-redis" .Release.Name) .Values.redis.auth.existingSecret }}
      key: redis-password
- name: REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s-redis-master:6379/0" .Release.Name | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ include "chatops.redisUrl" . | quote }}
{{- with .Values.redis.external.passwordSecret }}
{{- if .name }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key | default "redis-password" }}
{{- if .usernameKey }}
- name: REDIS_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .usernameKey }}
{{- end }}
{{- if .sentinelPasswordKey }}
- name: REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .sentinelPasswordKey }}
{{- end }}
{{- end }}
{{- end }}
{{- if .Values.redis.external.tls.caSecret }}
- name: REDIS_TLS_CA_FILE
  value: {{ printf "/var/run/chatops/redis-ca/%s" .Values.redis.external.tls.caKey | quote }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "chatops.volumeMounts" -}}
- name: secrets
  mountPath: /var/run/secrets/chatops
  readOnly: true
- name: policy
  mountPath: /etc/chatops
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if and (not .Values.redis.enabled) .Values.redis.external.tls.caSecret }}
- name: redis-ca
  mountPath: /var/run/chatops/redis-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "chatops.volumes" -}}
- name: secrets
  secret:
    secretName: {{ required "existingSecret (a Secret with SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET) is required" .Values.existingSecret }}
    defaultMode: 0400
- name: policy
  configMap:
    name: {{ include "chatops.policyConfigMap" . }}
- name: tmp
  emptyDir: {}
{{- if and (not .Values.redis.enabled) .Values.redis.external.tls.caSecret }}
- name: redis-ca
  secret:
    secretName: {{ .Values.redis.external.tls.caSecret }}
    defaultMode: 0444
{{- end }}
{{- end -}}

{{/* The worker Deployment's own name and selector (a different app name: the web Deployment's
     selector and Service never match worker pods, and its selector stays as it was) */}}
{{- define "chatops.workerName" -}}
{{- printf "%s-worker" (include "chatops.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "chatops.workerSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-worker" (include "chatops.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end -}}

{{- define "chatops.policyConfigMap" -}}
{{- default (printf "%s-policy" (include "chatops.fullname" .)) .Values.existingPolicyConfigMap -}}
{{- end -}}

{{/* namespaces the read-only / remediation Roles are made in (scope: namespace) */}}
{{- define "chatops.rbacNamespaces" -}}
{{- if .Values.rbac.namespaces -}}
{{- join "," .Values.rbac.namespaces -}}
{{- else -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end -}}
