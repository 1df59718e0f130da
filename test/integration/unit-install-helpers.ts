// Package builders and the loopback package server live with the install unit tests.
export * from '../unit/install/helpers.js';
