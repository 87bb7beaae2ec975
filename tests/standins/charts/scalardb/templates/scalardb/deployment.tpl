{{- $v := .Values.scalardb }}
{{- $cfg := $v.storageConfiguration }}
{{- $db := include "scalardb.dbSecretName" . }}
apiVersion: apps/v1
kind: Deployment
metadata:
  {{- /* ScalarDB Server's Deployment carries the bare fullname (no suffix). */}}
  name: {{ include "scalardb.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardb.labels" . | nindent 4 }}
spec:
  replicas: {{ $v.replicaCount }}
  selector:
    matchLabels:
      {{- include "scalardb.selectorLabels" . | nindent 6 }}
  {{- with $v.strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  template:
    metadata:
      annotations:
        {{- /* A change of the properties changes this hash, which rolls the pods. */}}
        checksum/config: {{ include (print $.Template.BasePath "/scalardb/configmap.tpl") . | sha256sum }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      labels:
        {{- include "scalardb.selectorLabels" . | nindent 8 }}
    spec:
      {{- if $v.rbac.create }}
      serviceAccountName: {{ include "scalardb.fullname" . }}
      {{- end }}
      restartPolicy: Always
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 60
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ $v.image.repository }}:{{ $v.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ $v.image.pullPolicy }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
          ports:
            - containerPort: 60051
            - containerPort: 8080
          env:
            - name: HELM_SCALAR_DB_CONTACT_POINTS
              value: {{ $cfg.contactPoints | toString | quote }}
            - name: HELM_SCALAR_DB_CONTACT_PORT
              value: {{ $cfg.contactPort | toString | quote }}
            - name: HELM_SCALAR_DB_USERNAME
              valueFrom:
                secretKeyRef:
                  name: {{ $db }}
                  key: db-username
            - name: HELM_SCALAR_DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ $db }}
                  key: db-password
            - name: HELM_SCALAR_DB_STORAGE
              value: {{ $cfg.storage | toString | quote }}
            - name: SCALAR_DB_LOG_LEVEL
              value: {{ $cfg.dbLogLevel | toString | quote }}
          {{- with $v.secretName }}
          envFrom:
            - secretRef:
                name: {{ . | quote }}
          {{- end }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            - name: scalardb-database-properties-volume
              mountPath: /scalardb/server/database.properties.tmpl
              subPath: database.properties.tmpl
            {{- with $v.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: scalardb-database-properties-volume
          configMap:
            name: {{ include "scalardb.fullname" . }}-database-properties
        {{- with $v.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
