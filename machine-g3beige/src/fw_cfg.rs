//! fw_cfg
