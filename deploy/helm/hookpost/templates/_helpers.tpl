{{/* Names and labels. */}}
{{- define "hookpost.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "hookpost.fullname" -}}
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

{{- define "hookpost.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "hookpost.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* (dict "root" $ "component" "gateway") */}}
{{- define "hookpost.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hookpost.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "hookpost.componentLabels" -}}
{{ include "hookpost.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "hookpost.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "hookpost.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the keys and the broker URLs: the operator's, or the chart's. */}}
{{- define "hookpost.secretName" -}}
{{- default (include "hookpost.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{- define "hookpost.projectorUrl" -}}
{{- printf "http://%s-projector:%v" (include "hookpost.fullname" .) .Values.projector.service.port -}}
{{- end -}}

{{/* Each service's port inside its pod (its *_PORT setting's default). */}}
{{- define "hookpost.port" -}}
{{- get (dict "gateway" 8000 "projector" 8001 "dispatcher" 8002) . -}}
{{- end -}}

{{/*
Refuses to render what could not run, saying what to set. The services check all of this again at start; here
it fails at `helm install` instead of as a crash loop. Messages never repeat a key.
*/}}
{{- define "hookpost.validate" -}}
{{- $v := .Values -}}
{{- if not $v.kafka.brokers -}}
{{- fail "kafka.brokers is required: the Kafka bootstrap servers, e.g. --set 'kafka.brokers={my-cluster-kafka-bootstrap.kafka.svc:9092}' (this chart bundles no Kafka)" -}}
{{- end -}}
{{- if not $v.existingSecret -}}
{{- $_ := required "secrets.masterKeys is required (HOOKPOST_SECRET_KEYS; no default is ever rendered): make one once with k1:$(openssl rand -base64 32), keep it (a different key later cannot open what it sealed; docs/master-keys.md), or set existingSecret to a Secret holding HOOKPOST_SECRET_KEYS" $v.secrets.masterKeys -}}
{{- /* (helm lint goes on past a missing value: check the format only of one that is there) */ -}}
{{- range $index, $entry := ternary (splitList "," ($v.secrets.masterKeys | toString)) list (not (empty $v.secrets.masterKeys)) -}}
{{- if not (regexMatch "^[A-Za-z0-9_-]{1,64}:[A-Za-z0-9+/]{43}=$" (trim $entry)) -}}
{{- fail (printf "secrets.masterKeys: entry %d is not <key id>:<base64 of 32 bytes> (an id of letters, digits, _ or -, a colon, then what openssl rand -base64 32 prints)" (add1 $index)) -}}
{{- end -}}
{{- end -}}
{{- $_ := required "secrets.apiKeys is required (HOOKPOST_API_KEYS: one or more API keys of 16+ characters, comma-separated), or set existingSecret to a Secret holding HOOKPOST_API_KEYS" $v.secrets.apiKeys -}}
{{- /* (the services skip empty entries of a list setting) */ -}}
{{- range $index, $key := splitList "," ($v.secrets.apiKeys | default "" | toString) | compact -}}
{{- if lt (len (trim $key)) 16 -}}
{{- fail (printf "secrets.apiKeys: key %d is shorter than 16 characters" (add1 $index)) -}}
{{- end -}}
{{- end -}}
{{- range $broker, $setting := dict "postgresql" "DATABASE_URL" "redis" "REDIS_URL" "rabbitmq" "AMQP_URL" -}}
{{- $values := get $v $broker -}}
{{- if and (not $values.url) (not $values.existingSecret.name) -}}
{{- fail (printf "%s.url is required (%s, with its password; it goes into the chart's Secret), or set %s.existingSecret.name and .key to a Secret holding the URL, or existingSecret to a Secret holding %s (this chart bundles no broker)" $broker $setting $broker $setting) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $broker := list "postgresql" "redis" "rabbitmq" -}}
{{- $ref := (get $.Values $broker).existingSecret -}}
{{- if and $ref.name (not $ref.key) -}}
{{- fail (printf "%s.existingSecret.key is required with %s.existingSecret.name: the key of that Secret that holds the URL" $broker $broker) -}}
{{- end -}}
{{- end -}}
{{- $partitions := int $v.kafka.topicPartitions -}}
{{- range $component := list "dispatcher" "projector" -}}
{{- $replicas := int (get $v $component).replicas -}}
{{- if gt $replicas $partitions -}}
{{- fail (printf "%s.replicas (%d) is more than kafka.topicPartitions (%d): Kafka gives each partition to one %s of the group, so the rest would take no events. Add partitions to the hookpost.* topics first, then raise kafka.topicPartitions to match" $component $replicas $partitions $component) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
One URL setting: from <broker>.existingSecret when named, else from the release's Secret (the chart's or existingSecret).
(dict "root" $ "broker" "postgresql" "name" "DATABASE_URL")
*/}}
{{- define "hookpost.urlEnv" -}}
{{- $ref := (get .root.Values .broker).existingSecret -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
{{- if $ref.name }}
      name: {{ $ref.name }}
      key: {{ $ref.key }}
{{- else }}
      name: {{ include "hookpost.secretName" .root }}
      key: {{ .name }}
{{- end }}
{{- end -}}

{{/*
The secret settings a service reads, and only those: the gateway never holds the database's or RabbitMQ's
password. (dict "root" $ "component" "gateway")
*/}}
{{- define "hookpost.secretEnv" -}}
{{- $secret := include "hookpost.secretName" .root -}}
- name: HOOKPOST_SECRET_KEYS
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: HOOKPOST_SECRET_KEYS } }
- name: HOOKPOST_API_KEYS
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: HOOKPOST_API_KEYS } }
{{- if ne .component "dispatcher" }}
- name: HOOKPOST_APP_API_KEYS
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: HOOKPOST_APP_API_KEYS, optional: true } }
{{- end }}
- name: HOOKPOST_METRICS_TOKEN
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: HOOKPOST_METRICS_TOKEN, optional: true } }
{{ include "hookpost.urlEnv" (dict "root" .root "broker" "redis" "name" "REDIS_URL") }}
{{- if eq .component "dispatcher" }}
{{ include "hookpost.urlEnv" (dict "root" .root "broker" "rabbitmq" "name" "AMQP_URL") }}
{{- end }}
{{- if eq .component "projector" }}
{{ include "hookpost.urlEnv" (dict "root" .root "broker" "postgresql" "name" "DATABASE_URL") }}
{{- end }}
{{- end -}}

{{/*
A service's Deployment. (dict "root" $ "component" "gateway" "values" .Values.gateway "replicas" 2 "behindService" true)
"replicas" is left out when an autoscaler owns them.
*/}}
{{- define "hookpost.deployment" -}}
{{- $root := .root -}}
{{- $values := .values -}}
{{- $port := include "hookpost.port" .component -}}
{{- $v := $root.Values -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "hookpost.fullname" $root }}-{{ .component }}
  labels:
    {{- include "hookpost.componentLabels" . | nindent 4 }}
spec:
  {{- if hasKey . "replicas" }}
  replicas: {{ .replicas }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "hookpost.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "hookpost.selectorLabels" . | nindent 8 }}
      annotations:
        # A changed setting rolls the pods: the services read their settings once, at start.
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        {{- if not $v.existingSecret }}
        checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
        {{- end }}
        {{- if $v.metricsAnnotations }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $port | quote }}
        prometheus.io/path: /metrics
        {{- end }}
        {{- with $values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "hookpost.serviceAccountName" $root }}
      # The services never call the Kubernetes API.
      automountServiceAccountToken: false
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ add (ternary $v.shutdown.preStopSleepSeconds 0 .behindService) $v.shutdown.drainSeconds }}
      containers:
        - name: {{ .component }}
          image: "{{ $v.image.repository }}:{{ $v.image.tag | default $root.Chart.AppVersion }}"
          imagePullPolicy: {{ $v.image.pullPolicy }}
          args: [{{ .component | quote }}]
          ports:
            - name: http
              containerPort: {{ $port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "hookpost.fullname" $root }}
          env:
            {{- include "hookpost.secretEnv" . | nindent 12 }}
          {{- if .behindService }}
          lifecycle:
            # Endpoints and ingress controllers learn of a terminating pod a moment after it is told to stop;
            # it keeps answering meanwhile, then drains (the image has coreutils' sleep).
            preStop:
              exec:
                command: ["sleep", {{ $v.shutdown.preStopSleepSeconds | quote }}]
          {{- end }}
          startupProbe:
            httpGet: { path: /healthz, port: http }
            {{- toYaml $v.probes.startup | nindent 12 }}
          livenessProbe:
            httpGet: { path: /healthz, port: http }
            {{- toYaml $v.probes.liveness | nindent 12 }}
          readinessProbe:
            httpGet: { path: /readyz, port: http }
            {{- toYaml $v.probes.readiness | nindent 12 }}
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
      {{- with $values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* (dict "root" $ "component" "gateway" "values" .Values.gateway) */}}
{{- define "hookpost.pdb" -}}
{{- if .values.pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "hookpost.fullname" .root }}-{{ .component }}
  labels:
    {{- include "hookpost.componentLabels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .values.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "hookpost.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}
