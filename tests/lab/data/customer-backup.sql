-- A small QueueMetrics-like backup for the lab tests (as mysqldump of the queuemetrics database writes it).
DROP TABLE IF EXISTS `qm_seed_probe`;
CREATE TABLE `qm_seed_probe` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `label` varchar(64) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
INSERT INTO `qm_seed_probe` (`id`, `label`) VALUES (1,'from the customer backup'),(2,'second row');
