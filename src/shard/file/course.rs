//! The nested parts of a measurement's course to their file form and back: phases and chat
//! turns (each a whole measurement of its own), and flows (counts and the whole duration
//! histogram). Errors name the part; the caller names the file.

use crate::baseline::encode;
use crate::measure::{FlowMeasurement, PhaseMeasurement, TurnMeasurement};

use super::convert::hist;
use super::{FlowFile, MeasurementFile, PhaseFile, TurnFile};

impl PhaseFile {
    pub(super) fn of(p: &PhaseMeasurement) -> PhaseFile {
        PhaseFile {
            name: p.name.clone(),
            from_s: p.from_s,
            to_s: p.to_s,
            measurement: MeasurementFile::of(&p.measurement),
        }
    }

    pub(super) fn phase(&self) -> Result<PhaseMeasurement, String> {
        Ok(PhaseMeasurement {
            name: self.name.clone(),
            from_s: self.from_s,
            to_s: self.to_s,
            measurement: self
                .measurement
                .measurement()
                .map_err(|e| format!("phase `{}`: {e}", self.name))?,
        })
    }
}

impl TurnFile {
    pub(super) fn of(t: &TurnMeasurement) -> TurnFile {
        TurnFile {
            turn: t.turn,
            measurement: MeasurementFile::of(&t.measurement),
        }
    }

    pub(super) fn turn(&self) -> Result<TurnMeasurement, String> {
        Ok(TurnMeasurement {
            turn: self.turn,
            measurement: self
                .measurement
                .measurement()
                .map_err(|e| format!("turn {}: {e}", self.turn))?,
        })
    }
}

impl FlowFile {
    pub(super) fn of(f: &FlowMeasurement) -> FlowFile {
        FlowFile {
            name: f.name.clone(),
            succeeded: f.succeeded,
            failed: f.failed,
            duration: encode(&f.duration),
        }
    }

    pub(super) fn flow(&self) -> Result<FlowMeasurement, String> {
        Ok(FlowMeasurement {
            name: self.name.clone(),
            succeeded: self.succeeded,
            failed: self.failed,
            duration: hist(&self.duration)
                .map_err(|e| format!("flow `{}`, duration: {e}", self.name))?,
        })
    }
}
