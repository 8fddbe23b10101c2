#!/bin/bash
# timeline_faults_slog.sh - the slog half of timeline_faults.sh (faults injected into the slog, #8264 re-execution).
# args: BUILD_DIR DATA_DIR
FAULT_SET=slog exec bash "$(cd "$(dirname "$0")" && pwd)/timeline_faults.sh" "$@"
