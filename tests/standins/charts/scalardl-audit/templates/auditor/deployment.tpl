{{- $v := .Values.auditor }}
{{- $cfg := $v.scalarAuditorConfiguration }}
{{- $db := include "scalardl-audit.dbSecretName" . }}
{{- $keys := include "scalardl-audit.mountKeys" . }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "scalardl-audit.fullname" . }}-auditor
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardl-audit.labels" . | nindent 4 }}
spec:
  replicas: {{ $v.replicaCount }}
  selector:
    matchLabels:
      {{- include "scalardl-audit.selectorLabels" . | nindent 6 }}
  {{- with $v.strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  template:
    metadata:
      annotations:
        {{- /* A change of the properties changes this hash, which rolls the pods. */}}
        checksum/config: {{ include (print $.Template.BasePath "/auditor/configmap.tpl") . | sha256sum }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      labels:
        {{- $selector := include "scalardl-audit.selectorLabels" . | fromYaml }}
        {{- toYaml (merge $selector ($v.podLabels | default dict)) | nindent 8 }}
    spec:
      restartPolicy: Always
      {{- with $v.serviceAccount.serviceAccountName }}
      serviceAccountName: {{ . }}
      {{- end }}
      automountServiceAccountToken: {{ $v.serviceAccount.automountServiceAccountToken }}
      terminationGracePeriodSeconds: 60
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      volumes:
        {{- if $keys }}
        - name: {{ $cfg.secretName | quote }}
          secret:
            secretName: {{ $cfg.secretName | quote }}
        {{- end }}
        - name: scalardl-auditor-properties-volume
          configMap:
            name: {{ include "scalardl-audit.fullname" . }}-auditor-properties
        {{- with $v.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      containers:
        - name: {{ .Chart.Name }}-auditor
          image: "{{ $v.image.repository }}:{{ $v.image.version }}"
          imagePullPolicy: {{ $v.image.pullPolicy }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
          ports:
            - containerPort: 40051
            - containerPort: 40052
            - containerPort: 40053
            - containerPort: 8080
          env:
            - name: HELM_SCALAR_DB_CONTACT_POINTS
              value: {{ $cfg.dbContactPoints | toString | quote }}
            - name: HELM_SCALAR_DB_CONTACT_PORT
              value: {{ $cfg.dbContactPort | toString | quote }}
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
              value: {{ $cfg.dbStorage | toString | quote }}
            - name: HELM_SCALAR_DL_AUDITOR_SERVER_PORT
              value: {{ $cfg.auditorServerPort | toString | quote }}
            - name: HELM_SCALAR_DL_AUDITOR_SERVER_PRIVILEGED_PORT
              value: {{ $cfg.auditorServerPrivilegedPort | toString | quote }}
            - name: HELM_SCALAR_DL_AUDITOR_SERVER_ADMIN_PORT
              value: {{ $cfg.auditorServerAdminPort | toString | quote }}
            - name: SCALAR_DL_AUDITOR_LOG_LEVEL
              value: {{ $cfg.auditorLogLevel | toString | quote }}
            - name: HELM_SCALAR_DL_AUDITOR_LEDGER_HOST
              value: {{ $cfg.auditorLedgerHost | toString | quote }}
            - name: HELM_SCALAR_DL_AUDITOR_CERT_HOLDER_ID
              value: {{ $cfg.auditorCertHolderId | toString | quote }}
            - name: HELM_SCALAR_DL_AUDITOR_CERT_VERSION
              value: {{ $cfg.auditorCertVersion | toString | quote }}
            - name: HELM_SCALAR_DL_AUDITOR_CERT_PATH
              value: {{ printf "/keys/%s" $cfg.auditorCertSecretKey | quote }}
            - name: HELM_SCALAR_DL_AUDITOR_PRIVATE_KEY_PATH
              value: {{ printf "/keys/%s" $cfg.auditorPrivateKeySecretKey | quote }}
          {{- with $v.secretName }}
          envFrom:
            - secretRef:
                name: {{ . | quote }}
          {{- end }}
          volumeMounts:
            {{- if $keys }}
            - name: {{ $cfg.secretName | quote }}
              mountPath: /keys
              readOnly: true
            {{- end }}
            - name: scalardl-auditor-properties-volume
              mountPath: /scalar/auditor/auditor.properties.tmpl
              subPath: auditor.properties.tmpl
            {{- with $v.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
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
