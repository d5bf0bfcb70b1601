pub mod exec;
pub mod image;
pub mod inspect;
pub mod network;
pub mod ps;
pub mod rm;
pub mod run;
